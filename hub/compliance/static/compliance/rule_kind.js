// The add-rule page carries the settings of every kind of rule; show only the chosen kind's.
// Without JavaScript every kind's settings show, each under its own heading.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const kind = document.getElementById("id_kind");
  if (!kind || kind.disabled) return;
  const show = () => {
    for (const fieldset of document.querySelectorAll("fieldset.sb-kind")) {
      fieldset.hidden = !fieldset.classList.contains(`sb-kind-${kind.value}`);
    }
  };
  kind.addEventListener("change", show);
  show();
});
