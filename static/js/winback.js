// Winback's small front-end helpers. Loaded with defer; no inline scripts anywhere (CSP).
document.addEventListener("DOMContentLoaded", () => {
  // Buttons and links with data-confirm ask before doing something destructive.
  document.body.addEventListener("click", (event) => {
    const target = event.target.closest("[data-confirm]");
    if (target && !window.confirm(target.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  });
  // Buttons with data-print open the browser's print dialog (the dashboard's monthly report).
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
  // Selects with data-autosubmit submit their form when changed (filter bars).
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.requestSubmit());
  });
});
