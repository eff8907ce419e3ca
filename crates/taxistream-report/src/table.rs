//! Tables of figures, as the page shows them: each cell's text for people, its exact value for
//! scripts (`data-value`).

use std::fmt::Write as _;

/// A table with a header row.
#[derive(Debug, Clone, Default)]
pub struct DataTable {
    columns: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

/// One cell: its text, its exact value if it is a number, and the figure it is, if named.
#[derive(Debug, Clone)]
pub struct Cell {
    text: String,
    value: Option<String>,
    figure: Option<String>,
    class: Option<&'static str>,
}

impl Cell {
    /// Text only.
    pub fn text(text: &str) -> Cell {
        Cell {
            text: text.to_owned(),
            value: None,
            figure: None,
            class: None,
        }
    }

    /// A figure that could not be computed, and why (`not computed: no fare column`).
    pub fn not_computed(why: &str) -> Cell {
        Cell {
            class: Some("not-computed"),
            ..Cell::text(why)
        }
    }

    /// A count, `12,345`.
    pub fn count(count: u64) -> Cell {
        Cell {
            value: Some(count.to_string()),
            ..Cell::text(&grouped(count))
        }
    }

    /// A share, `12.34 %`, its value the exact fraction.
    pub fn share(fraction: f64) -> Cell {
        Cell {
            value: Some(fraction.to_string()),
            ..Cell::text(&percent(fraction))
        }
    }

    /// The same cell, named as a figure (`data-figure`) for scripts.
    pub fn named(self, figure: &str) -> Cell {
        Cell {
            figure: Some(figure.to_owned()),
            ..self
        }
    }

    /// Writes the cell as the element `tag` (`td`, `dd`).
    pub fn write_as(&self, out: &mut String, tag: &str) {
        let _ = write!(out, "<{tag}");
        if let Some(figure) = &self.figure {
            let _ = write!(out, " data-figure=\"{}\"", escape(figure));
        }
        if let Some(value) = &self.value {
            let _ = write!(out, " data-value=\"{}\"", escape(value));
        }
        let class = self.class.or(self.value.as_ref().map(|_| "number"));
        if let Some(class) = class {
            let _ = write!(out, " class=\"{class}\"");
        }
        let _ = write!(out, ">{}</{tag}>", escape(&self.text));
    }
}

impl DataTable {
    /// An empty table with these column headers.
    pub fn new(columns: &[&str]) -> DataTable {
        DataTable::with_columns(columns.iter().map(|column| (*column).to_owned()).collect())
    }

    /// An empty table with these column headers.
    pub fn with_columns(columns: Vec<String>) -> DataTable {
        DataTable {
            columns,
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// Writes `<table>`, in a box that scrolls sideways when the page is narrower.
    pub fn write_html(&self, out: &mut String) {
        out.push_str("<div class=\"table\"><table><thead><tr>");
        for column in &self.columns {
            let _ = write!(out, "<th>{}</th>", escape(column));
        }
        out.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            out.push_str("<tr>");
            for cell in row {
                cell.write_as(out, "td");
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");
    }
}

/// `1234567` as `1,234,567`.
pub fn grouped(count: u64) -> String {
    let digits = count.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `0.12345` as `12.35 %`.
pub fn percent(fraction: f64) -> String {
    format!("{:.2} %", fraction * 100.0)
}

/// Text safe inside HTML elements and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(character),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands_and_text_is_escaped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(percent(0.074_6), "7.46 %");
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn a_named_cell_carries_its_figure_and_value_and_a_missing_one_says_why() {
        let mut html = String::new();
        Cell::share(0.0).named("share").write_as(&mut html, "td");
        Cell::count(0).named("count").write_as(&mut html, "dd");
        Cell::not_computed("not computed: no fare")
            .named("fares")
            .write_as(&mut html, "td");
        assert_eq!(
            html,
            "<td data-figure=\"share\" data-value=\"0\" class=\"number\">0.00 %</td>\
             <dd data-figure=\"count\" data-value=\"0\" class=\"number\">0</dd>\
             <td data-figure=\"fares\" class=\"not-computed\">not computed: no fare</td>"
        );
    }
}
