// The widget manager typesets widget labels with MathJax 2's API (MathJax.Hub.Queue), but the book
// runs MathJax 3, so every widget with a label threw "Cannot read properties of undefined (reading
// 'Queue')". Give each object that window.MathJax holds (the configuration, then MathJax 3 itself,
// which replaces it) a Hub whose Queue typesets the node with MathJax 3 once it has started.
(function () {
  const hub = {
    Queue(call) {
      const node = call[2], mathjax = window.MathJax;
      if (mathjax.typesetPromise) mathjax.startup.promise.then(() => mathjax.typesetPromise([node]));
    },
  };
  let current = window.MathJax;
  if (current) current.Hub = hub;
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get() { return current; },
    set(value) {
      current = value;
      if (value && !value.Hub) value.Hub = hub;
    },
  });
})();
