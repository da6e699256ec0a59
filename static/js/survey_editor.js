// Survey editor: show only the fields that belong to each question's kind (rating labels, options).
// Without JavaScript every field stays visible and the server ignores those that do not apply.
document.addEventListener("DOMContentLoaded", () => {
  const sync = (question) => {
    const kind = question.querySelector("select[name$='-kind']");
    if (!kind) return;
    question.querySelectorAll("[data-kind-only]").forEach((part) => {
      const kinds = part.dataset.kindOnly.split(" ");
      part.classList.toggle("d-none", !kinds.includes(kind.value));
    });
  };
  document.querySelectorAll("[data-question]").forEach((question) => {
    sync(question);
    question.addEventListener("change", (event) => {
      if (event.target.matches("select[name$='-kind']")) sync(question);
    });
  });
});
