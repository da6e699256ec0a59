// The survey page's progress line: "Answered: 2 of 5" and a bar, updated as questions are answered.
// The page works without it (the static "5 questions" line stays).
(function () {
  "use strict";
  function init() {
    var form = document.querySelector("form.survey-form");
    var line = document.getElementById("survey-progress");
    var bar = document.getElementById("survey-progress-bar");
    if (!form || !line || !bar) { return; }
    var blocks = form.querySelectorAll("fieldset[data-question]");
    var template = line.getAttribute("data-progress-template") || "{answered} / {total}";
    var total = blocks.length;
    function answered(block) {
      var fields = block.querySelectorAll("input, textarea");
      for (var i = 0; i < fields.length; i++) {
        var field = fields[i];
        if (field.closest(".survey-subquestion")) { continue; }
        if ((field.type === "radio" || field.type === "checkbox") && field.checked) { return true; }
        if (field.tagName === "TEXTAREA" && field.value.trim() !== "") { return true; }
      }
      return false;
    }
    function update() {
      var count = 0;
      for (var i = 0; i < blocks.length; i++) { if (answered(blocks[i])) { count++; } }
      var text = template.replace("{answered}", count).replace("{total}", total);
      bar.value = count;
      if (line.textContent !== text) { line.textContent = text; }
    }
    bar.hidden = false;
    form.addEventListener("change", update);
    form.addEventListener("input", update);
    update();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
