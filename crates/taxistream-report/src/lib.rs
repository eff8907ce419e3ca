//! The report page of `taxistream report`: a store's figures as one HTML file that needs no
//! network (no script, no font, no image to load), its charts inline SVG drawn by plotters.

mod charts;
mod page;
mod plots;
mod table;
mod timeline;
mod zones;

pub use charts::{BarChart, ChartError, Series};
pub use page::render_html;
pub use zones::ZoneNames;
