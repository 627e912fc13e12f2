// The widget bundles in vendor/embed-amd.js (base, controls, html-manager and their 7.x twins) load their
// icon fonts from beside their own module address, which require.js would otherwise resolve against the
// page (book/partN/@jupyter-widgets/...): map every one of them into vendor/, where the fonts are.
(() => {
  const vendor = new URL("vendor", document.currentScript.src).href;
  const paths = {"@jupyter-widgets/html-manager/dist": vendor};
  for (const name of ["base", "base7", "controls", "controls7", "html-manager"]) {
    paths[`@jupyter-widgets/${name}`] = `${vendor}/${name}`;
  }
  require.config({paths});
})();
