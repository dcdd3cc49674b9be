// Small enhancements of plain forms; every page works without them.
"use strict";
document.addEventListener("click", (event) => {
  const back = event.target.closest("[data-back]");
  if (back && history.length > 1) {
    event.preventDefault();
    history.back();
  }
});
// a button with data-confirm asks before its form is sent (publish, retire, discard…)
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
