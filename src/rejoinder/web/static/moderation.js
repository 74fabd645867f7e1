// Moderator queue enhancements (issue 4): keyboard shortcuts and approve/reject without a page
// reload. Enhancement only: every action is a plain POST form that works without this file.
(() => {
  "use strict";
  const form = document.getElementById("queue");
  const undoForm = document.getElementById("undo-form");
  const live = document.getElementById("live");
  const hint = document.querySelector(".keys");
  if (hint) hint.hidden = false;
  const DONE = { approve: "Approved", reject: "Rejected" };
  let current = -1;

  const items = () => Array.from(document.querySelectorAll("article.item"));
  const announce = (text) => { if (live) live.textContent = text; };

  function select(index) {
    const all = items();
    if (!all.length) { current = -1; return; }
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((el, i) => el.classList.toggle("current", i === current));
    all[current].focus({ preventScroll: true });
    all[current].scrollIntoView({ block: "nearest" });
  }

  function currentItem() {
    const all = items();
    if (current < 0 && all.length) select(0);
    return items()[current] || null;
  }

  function removeItem(item) {
    const index = items().indexOf(item);
    item.remove();
    const count = document.querySelector("h1 .count");
    if (count) count.textContent = String(items().length);
    if (items().length) {
      select(index);
    } else {
      current = -1;
      const empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = "The queue is empty. Nothing waits for a decision.";
      form.replaceWith(empty);
    }
  }

  async function decide(item, action) {
    if (!item || item.getAttribute("aria-busy") === "true") return;
    const body = new FormData();
    body.append("csrf", form.dataset.csrf);
    body.append("decide", `${action}:${item.dataset.id}`);
    item.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.action, {
        method: "POST", body, credentials: "same-origin", headers: { Accept: "application/json" },
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) {
        announce(data.error ? data.error.message : `The action failed (${response.status}).`);
        item.removeAttribute("aria-busy");
        return;
      }
      announce(`${DONE[action]} comment ${item.dataset.id}. Press u to undo.`);
      removeItem(item);
    } catch (err) {
      item.removeAttribute("aria-busy");
      announce("Network error: the action was not saved.");
    }
  }

  function click(item, action) {
    const button = item && item.querySelector(`button[data-action="${action}"]`);
    if (button) button.click();
  }

  if (form) {
    form.addEventListener("submit", (event) => {
      const button = event.submitter;
      if (!button || button.name !== "decide") return;
      const action = button.value.split(":")[0];
      if (action in DONE) {
        event.preventDefault();
        decide(button.closest("article.item"), action);
      }
    });
    form.addEventListener("focusin", (event) => {
      const item = event.target.closest("article.item");
      if (item) {
        current = items().indexOf(item);
        items().forEach((el) => el.classList.toggle("current", el === item));
      }
    });
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof Element &&
        target.matches("input:not([type=checkbox]), textarea, select, [contenteditable]")) return;
    const key = event.key;
    if (key === "u" && undoForm) { event.preventDefault(); undoForm.requestSubmit(); return; }
    if (!form) return;
    if (key === "j") select(current + 1);
    else if (key === "k") select(current - 1);
    else if (key === "a") decide(currentItem(), "approve");
    else if (key === "r") decide(currentItem(), "reject");
    else if (key === "b") click(currentItem(), "ban_author");
    else if (key === "x") {
      const box = currentItem() && currentItem().querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
    } else return;
    event.preventDefault();
  });
})();
