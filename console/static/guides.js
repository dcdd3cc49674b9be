// The guide and FAQ editors' table rows (申请材料, 办理地点, 关联事项): buttons to add and remove
// rows. Without script the forms still work: they carry two empty rows, and more after each save.
"use strict";
(() => {
  const clear = (row) => {
    for (const field of row.querySelectorAll("input, textarea")) field.value = "";
    for (const box of row.querySelectorAll("select")) box.selectedIndex = 0;
    for (const note of row.querySelectorAll(".hint")) note.remove();
  };
  for (const table of document.querySelectorAll("table[data-rows]")) {
    const body = table.tBodies[0];
    for (const button of table.querySelectorAll("button.remove-row")) button.hidden = false;
    table.addEventListener("click", (event) => {
      const button = event.target.closest("button.remove-row");
      if (!button) return;
      const row = button.closest("tr");
      if (body.rows.length > 1) row.remove();
      else clear(row);
    });
    const add = document.querySelector(`button[data-add-row="${table.id}"]`);
    if (!add) continue;
    add.hidden = false;
    add.addEventListener("click", () => {
      if (body.rows.length >= 100) return; // a guide holds at most 100 of each
      const row = body.rows[body.rows.length - 1].cloneNode(true);
      clear(row);
      body.append(row);
      const first = row.querySelector("input, select, textarea");
      if (first) first.focus();
    });
  }
})();
