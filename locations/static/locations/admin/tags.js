/* tariff_ids as tags (form_fields.TagsField): the ids typed in the input ("AC-STD, DC-FAST")
   are shown as chips under it, each with a × that removes it from the input. The input stays
   what is submitted, so the field works without this script too. */
(function () {
  "use strict";

  function tagsOf(input) {
    return input.value.split(/[,\s]+/).filter(function (tag) { return tag; });
  }

  function draw(input, box) {
    box.textContent = "";
    tagsOf(input).forEach(function (tag, index) {
      var chip = document.createElement("span");
      chip.className = "ocpi-tag";
      chip.textContent = tag;
      if (!input.disabled) {
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "ocpi-tag-remove";
        remove.textContent = "×";
        remove.setAttribute("aria-label", "Remove " + tag);
        remove.addEventListener("click", function () {
          var tags = tagsOf(input);
          tags.splice(index, 1);
          input.value = tags.join(", ");
          draw(input, box);
        });
        chip.appendChild(remove);
      }
      box.appendChild(chip);
    });
  }

  function init(input) {
    if (input.dataset.tagsReady || /__prefix__|-empty-/.test(input.id)) return;
    input.dataset.tagsReady = "1";
    var box = document.createElement("span");
    box.className = "ocpi-tag-list";
    input.insertAdjacentElement("afterend", box);
    input.addEventListener("input", function () { draw(input, box); });
    draw(input, box);
  }

  function initAll(root) {
    if (root.querySelectorAll) root.querySelectorAll("input.ocpi-tags").forEach(init);
  }

  document.addEventListener("DOMContentLoaded", function () {
    initAll(document);
    new MutationObserver(function (mutations) {
      mutations.forEach(function (m) { m.addedNodes.forEach(initAll); });
    }).observe(document.body, { childList: true, subtree: true });
  });
})();
