// The case lists: on the board, a card's "Move" link fetches its move form (htmx); the reason
// field of a card's move form is shown only when the
// chosen stage is "diagnosed" (without JavaScript it is always there); on the queue, a checkbox
// in the table head ticks every case on the page for the bulk reassignment.
(() => {
  const DIAGNOSED = "diagnosed";

  function syncReason(form) {
    const stage = form.querySelector("[data-move-stage]");
    const box = form.querySelector("[data-move-reason-box]");
    if (stage && box) {
      box.hidden = stage.value !== DIAGNOSED;
    }
  }

  function initMoveForms(root) {
    root.querySelectorAll("form[data-move-form]").forEach(syncReason);
  }

  document.addEventListener("DOMContentLoaded", () => {
    initMoveForms(document);
    document.body.addEventListener("change", (event) => {
      const form = event.target.closest("form[data-move-form]");
      if (form && event.target.matches("[data-move-stage]")) {
        syncReason(form);
      }
      const all = event.target.closest("[data-check-all]");
      if (all) {
        document.querySelectorAll(`input[type=checkbox][name="${all.dataset.checkAll}"]`).forEach((box) => {
          box.checked = all.checked;
        });
      }
    });
    // After htmx puts a new board in place, set up its forms and keep the focus on the board.
    document.body.addEventListener("htmx:afterSwap", (event) => {
      initMoveForms(event.detail.target.isConnected ? event.detail.target : document);
      // A card's "Move" link brought its form: put the focus on the stage to move to.
      const card = event.detail.target.id ? document.getElementById(event.detail.target.id) : null;
      const stage = card && card.tagName === "ARTICLE" && card.querySelector("[data-move-stage]");
      if (stage) {
        stage.focus();
        return;
      }
      const board = document.getElementById("board");
      const alert = board && board.querySelector("[role=alert], [role=status]");
      if (alert) {
        alert.setAttribute("tabindex", "-1");
        alert.focus();
      }
    });
  });
})();
