// What a person sees on the report page, read from the DOM after Chromium laid it out: each plot
// (its drawn size, its visible bars, the figures under it) and every named figure.
(() => {
  const plots = [...document.querySelectorAll('figure.plot')].map((figure) => {
    const svg = figure.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
    const bars = svg
      ? [...svg.querySelectorAll('rect')].filter((rect) => {
          const size = rect.getBBox();
          return size.width > 0 && size.height > 0 && rect.getAttribute('fill') !== '#FFFFFF';
        }).length
      : 0;
    const rows = [...figure.querySelectorAll('details tbody tr')].map((row) =>
      [...row.cells].map((cell) => cell.dataset.value ?? cell.textContent),
    );
    const why = figure.querySelector('.unavailable');
    return {
      id: figure.dataset.plot,
      state: figure.dataset.state,
      width: box.width,
      height: box.height,
      bars,
      rows,
      why: why ? why.textContent : null,
    };
  });
  const named = [...document.querySelectorAll('[data-figure]')];
  const figures = Object.fromEntries(
    named.map((element) => [element.dataset.figure, element.dataset.value]),
  );
  // What a reader sees of each figure, as laid out (hidden text does not count).
  const shown = Object.fromEntries(
    named.map((element) => [element.dataset.figure, element.innerText.trim()]),
  );
  const notes = [...document.querySelectorAll('figure.plot')].map((figure) => [
    figure.dataset.plot,
    [...figure.querySelectorAll('p.note')].map((note) => note.innerText),
  ]);
  return { plots, figures, shown, notes: Object.fromEntries(notes) };
})()
