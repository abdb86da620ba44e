/* The version editor's helpers (admin/templates_app/templateversion/change_form.html), no
   library and no inline code: a desktop / mobile width toggle for the live preview, and an
   "Insert a variable" list that puts {{ name }} at the cursor of the content field last used.
   The list is the version's declared variables as typed in the Variables rows (so a new row
   counts at once), then the reserved names the hub fills (unsubscribe_url). */
(function () {
    "use strict";

    const CONTENT = ["subject", "preheader", "html", "text", "title", "link"];

    // An email is laid out at the width of the reader's screen; beside the form the column is
    // narrower than a desktop's, so the desktop rendering is drawn at its width and scaled down.
    const WIDTHS = {desktop: 640, mobile: 375};

    function fitFrames(preview) {
        const width = WIDTHS[preview.dataset.width] || WIDTHS.desktop;
        preview.querySelectorAll(".tpl-card iframe").forEach(function (frame) {
            const room = frame.parentElement.clientWidth - 22;  // the card's padding
            const scale = Math.min(1, room / width);
            const height = 360;
            frame.style.width = width + "px";
            frame.style.height = height + "px";
            frame.style.transformOrigin = "0 0";
            frame.style.transform = scale < 1 ? "scale(" + scale.toFixed(3) + ")" : "";
            frame.style.marginRight = scale < 1 ? -Math.round(width * (1 - scale)) + "px" : "";
            frame.style.marginBottom = scale < 1 ? -Math.round(height * (1 - scale)) + "px" : "";
            frame.dataset.previewWidth = String(width);
        });
    }

    function widthToggle() {
        const preview = document.getElementById("tpl-preview");
        const buttons = document.querySelectorAll("[data-preview-width]");
        if (!preview || !buttons.length) return;
        preview.dataset.width = preview.dataset.width || "desktop";
        buttons.forEach(function (button) {
            button.addEventListener("click", function () {
                preview.dataset.width = button.dataset.previewWidth;
                buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
                fitFrames(preview);
            });
        });
        new MutationObserver(function () { fitFrames(preview); })
            .observe(document.getElementById("tpl-cards"), {childList: true});
        window.addEventListener("resize", function () { fitFrames(preview); });
        fitFrames(preview);
    }

    function isContentField(node) {
        if (!node || !node.name || !/^variants-\d+-/.test(node.name)) return false;
        return CONTENT.includes(node.name.replace(/^variants-\d+-/, ""));
    }

    function declared() {
        const names = [];
        document.querySelectorAll("input[name^='variables-'][name$='-name']").forEach(function (input) {
            if (/__prefix__/.test(input.name)) return;  // the empty row Django keeps for "Add another"
            const row = input.closest(".inline-related");
            const gone = row && row.querySelector("input[name$='-DELETE']");
            const name = input.value.trim();
            if (name && !(gone && gone.checked) && !names.includes(name)) names.push(name);
        });
        return names;
    }

    function variableHelper() {
        const box = document.getElementById("tpl-insert");
        if (!box) return;
        const list = box.querySelector("ul");
        const status = box.querySelector("[role=status]");
        const reserved = JSON.parse(box.dataset.reserved || "[]");
        let target = null;

        document.addEventListener("focusin", function (event) {
            if (isContentField(event.target)) target = event.target;
        });

        function labelOf(field) {
            const label = document.querySelector("label[for='" + field.id + "']");
            return label ? label.textContent.replace(/:$/, "") : field.name;
        }

        function insert(name) {
            if (!target || !document.body.contains(target)) {
                status.textContent = "Click in a content field (subject, text, HTML ...) first, then choose a variable.";
                return;
            }
            const text = "{{ " + name + " }}";
            const start = target.selectionStart ?? target.value.length;
            const end = target.selectionEnd ?? start;
            target.value = target.value.slice(0, start) + text + target.value.slice(end);
            target.focus();
            target.setSelectionRange(start + text.length, start + text.length);
            target.dispatchEvent(new Event("input", {bubbles: true}));  // the preview redraws
            status.textContent = "Inserted " + text + " into " + labelOf(target) + ".";
        }

        function draw() {
            list.replaceChildren();
            const names = declared();
            names.concat(reserved.filter(function (r) { return !names.includes(r); })).forEach(function (name) {
                const item = document.createElement("li");
                const button = document.createElement("button");
                button.type = "button";
                button.className = "button tpl-insert-variable";
                button.dataset.variable = name;
                button.textContent = "{{ " + name + " }}";
                if (reserved.includes(name)) {
                    button.title = "Filled by the hub for each message";
                    button.setAttribute("aria-label", "Insert " + name + ", filled by the hub");
                } else {
                    button.setAttribute("aria-label", "Insert " + name);
                }
                // Keep the caret where it is: the field keeps focus until the insert.
                button.addEventListener("mousedown", function (event) { event.preventDefault(); });
                button.addEventListener("click", function () { insert(name); });
                item.append(button);
                list.append(item);
            });
        }

        const variables = document.getElementById("variables-group");
        if (variables) {
            variables.addEventListener("input", draw);
            variables.addEventListener("change", draw);
        }
        document.addEventListener("formset:added", draw);
        document.addEventListener("formset:removed", draw);
        draw();
    }

    function start() {
        widthToggle();
        variableHelper();
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
})();
