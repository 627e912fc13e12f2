// The widget manager (vendor/embed-amd.js) loads its icon fonts from beside its own module address,
// which require.js would otherwise resolve against the page (book/partN/@jupyter-widgets/...): point it at vendor/.
require.config({
  paths: {"@jupyter-widgets/html-manager/dist": new URL("vendor", document.currentScript.src).href},
});
