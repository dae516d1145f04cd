// The script of the Explain page (explainView.ts): a click on a `file:line`
// link asks the extension to open the file at the line. It reads only the
// link's data attributes; the page is rendered by the extension.
(function () {
  const vscode = acquireVsCodeApi();
  document.addEventListener('click', (e) => {
    const a = e.target instanceof Element ? e.target.closest('a.loc') : null;
    if (!a) return;
    e.preventDefault();
    const line = Number(a.getAttribute('data-line'));
    vscode.postMessage({ type: 'open', file: a.getAttribute('data-file') || '', line });
  });
})();
