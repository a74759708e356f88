/* Searchable category picker (分类检索).
 *
 * Enhances every <select data-category-picker> (leaf categories in <optgroup>s by 大类/小类):
 * a text box where two characters of a name or code (or of a 大类's name) list the matching
 * leaves, grouped under their 大类; ↑/↓ move, Enter picks, Esc closes. The <select> stays in the
 * form (hidden) and keeps its value, so the form works the same without JavaScript, and
 * suggestion chips ([data-pick-category]) that set the select update the box through "change".
 */
(function () {
  "use strict";
  if (window.CityOpsCategoryPicker) return;
  window.CityOpsCategoryPicker = true;

  var MIN_CHARS = 2;
  var MAX_ITEMS = 60;
  var counter = 0;

  function optionLabel(select) {
    var opt = select.options[select.selectedIndex];
    return opt && opt.value ? opt.text : "";
  }

  function catalogue(select) {
    var items = [];
    Array.prototype.forEach.call(select.querySelectorAll("option"), function (opt) {
      if (!opt.value) return;
      var group = opt.parentNode.tagName === "OPTGROUP" ? opt.parentNode.label : "";
      items.push({ value: opt.value, text: opt.text, group: group, hay: (opt.text + " " + group).toLowerCase() });
    });
    return items;
  }

  function enhance(select) {
    if (select.dataset.pickerReady) return;
    select.dataset.pickerReady = "1";
    var items = catalogue(select);
    var id = "catpick-" + (++counter);

    var wrap = document.createElement("div");
    wrap.className = "catpick";
    var input = document.createElement("input");
    input.type = "text";
    input.className = "catpick-input";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id + "-list");
    input.setAttribute("autocomplete", "off");
    input.placeholder = select.dataset.placeholder || "输入分类名称或编码（至少 2 个字）检索";
    input.value = optionLabel(select);
    if (select.id) {
      // The field's <label for> now names the text box; the select keeps its name for the form.
      input.id = select.id + "-search";
      var label = document.querySelector('label[for="' + select.id + '"]');
      if (label) label.setAttribute("for", input.id);
    }
    var list = document.createElement("div");
    list.id = id + "-list";
    list.className = "catpick-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    var status = document.createElement("div");
    status.className = "catpick-status muted small";
    status.setAttribute("aria-live", "polite");

    select.parentNode.insertBefore(wrap, select);
    wrap.appendChild(input);
    wrap.appendChild(list);
    wrap.appendChild(status);
    wrap.appendChild(select);
    select.classList.add("catpick-select");
    select.tabIndex = -1;
    select.setAttribute("aria-hidden", "true");

    var shown = [];
    var active = -1;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var options = list.querySelectorAll("[role=option]");
      if (!options.length) return;
      active = (index + options.length) % options.length;
      Array.prototype.forEach.call(options, function (el, i) { el.classList.toggle("active", i === active); });
      input.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({ block: "nearest" });
    }

    function choose(item) {
      select.value = item.value;
      input.value = item.text;
      close();
      select.dispatchEvent(new Event("change", { bubbles: true }));
      status.textContent = "已选择：" + item.text;
    }

    function render(query) {
      list.innerHTML = "";
      shown = [];
      active = -1;
      var q = query.trim().toLowerCase();
      if (q.length < MIN_CHARS) {
        status.textContent = q.length ? "请至少输入 2 个字" : "";
        close();
        return;
      }
      var terms = q.split(/\s+/);
      var matches = items.filter(function (it) {
        return terms.every(function (t) { return it.hay.indexOf(t) !== -1; });
      });
      // Codes typed from the start rank first (P0101…), then name matches in catalogue order.
      matches.sort(function (a, b) {
        var ax = a.value.toLowerCase().indexOf(q) === 0 ? 0 : 1;
        var bx = b.value.toLowerCase().indexOf(q) === 0 ? 0 : 1;
        return ax - bx;
      });
      var total = matches.length;
      matches = matches.slice(0, MAX_ITEMS);
      var lastGroup = null;
      matches.forEach(function (it, i) {
        if (it.group !== lastGroup) {
          var head = document.createElement("div");
          head.className = "catpick-group";
          head.setAttribute("role", "presentation");
          head.textContent = it.group || "其他";
          list.appendChild(head);
          lastGroup = it.group;
        }
        var row = document.createElement("div");
        row.id = id + "-opt-" + i;
        row.className = "catpick-option";
        row.setAttribute("role", "option");
        row.dataset.index = String(shown.length);
        row.textContent = it.text;
        list.appendChild(row);
        shown.push(it);
      });
      if (!total) {
        status.textContent = "没有匹配的分类";
        close();
        return;
      }
      status.textContent = total > MAX_ITEMS ? "匹配 " + total + " 项，显示前 " + MAX_ITEMS + " 项，请输入更多字缩小范围" : "匹配 " + total + " 项";
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(0);
    }

    input.addEventListener("input", function () { render(input.value); });
    input.addEventListener("focus", function () { if (input.value && input.value !== optionLabel(select)) render(input.value); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (list.hidden) { render(input.value); return; }
        highlight(active + (e.key === "ArrowDown" ? 1 : -1));
      } else if (e.key === "Enter") {
        if (!list.hidden && active >= 0 && shown[active]) {
          e.preventDefault(); // pick, do not submit the form
          choose(shown[active]);
        }
      } else if (e.key === "Escape") {
        if (!list.hidden) { e.preventDefault(); close(); }
      } else if (e.key === "Tab") {
        close();
      }
    });
    input.addEventListener("blur", function () {
      setTimeout(function () {
        close();
        // Leaving the box with half-typed text restores the chosen category's name.
        if (input.value !== optionLabel(select)) {
          if (!input.value.trim()) { select.value = ""; select.dispatchEvent(new Event("change", { bubbles: true })); }
          input.value = optionLabel(select);
        }
      }, 150);
    });
    list.addEventListener("mousedown", function (e) {
      var row = e.target.closest("[role=option]");
      if (!row) return;
      e.preventDefault();
      choose(shown[Number(row.dataset.index)]);
    });
    select.addEventListener("change", function () { input.value = optionLabel(select); });
  }

  function scan(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("select[data-category-picker]"), enhance);
  }

  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:load", function (e) { scan(e.detail && e.detail.elt ? e.detail.elt : document); });
  if (document.readyState !== "loading") scan(document);
})();
