// The front desk: keeps the queue and an open transcript up to date, and asks before deleting.
(function () {
  "use strict";
  var INTERVAL_MS = 3000;

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (r.status === 401 || r.redirected) { window.location.reload(); throw new Error("logged out"); }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function cell(text, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    td.textContent = text;
    return td;
  }

  function queueRow(item, openBase, isNew) {
    var tr = document.createElement("tr");
    tr.className = "tier-" + (item.tier || "human") + (isNew ? " new" : "");
    tr.dataset.id = item.conversation_id;
    var tier = document.createElement("td");
    var label = document.createElement("span");
    label.className = "tier";
    label.textContent = item.tier_label;
    tier.appendChild(label);
    if (item.paused) {
      var badge = document.createElement("span");
      badge.className = item.waiting ? "badge waiting" : "badge";
      badge.textContent = item.waiting ? "patiënt wacht op u" : "medewerker";
      tier.appendChild(document.createTextNode(" "));
      tier.appendChild(badge);
    }
    tr.appendChild(tier);
    tr.appendChild(cell(item.time));
    tr.appendChild(cell(item.channel));
    tr.appendChild(cell(item.flagged_text, "flagged"));
    var open = document.createElement("td");
    var link = document.createElement("a");
    link.className = "open";
    link.href = openBase + encodeURIComponent(item.conversation_id);
    link.textContent = "Open";
    open.appendChild(link);
    tr.appendChild(open);
    return tr;
  }

  function refreshQueue(body) {
    getJSON(body.dataset.url).then(function (data) {
      var known = {};
      Array.prototype.forEach.call(body.querySelectorAll("tr[data-id]"), function (tr) { known[tr.dataset.id] = true; });
      var rows = data.items.map(function (item) { return queueRow(item, body.dataset.open, !known[item.conversation_id]); });
      if (!rows.length) {
        var empty = document.createElement("tr");
        empty.className = "empty";
        var td = cell("Er wacht niemand.");
        td.colSpan = 5;
        empty.appendChild(td);
        rows = [empty];
      }
      body.replaceChildren.apply(body, rows);
      var count = document.getElementById("queue-count");
      if (count) { count.textContent = String(data.items.length); }
      document.title = (data.items.length ? "(" + data.items.length + ") " : "") + "Balie – rugklachten-assistent";
    }).catch(function () { /* the next refresh tries again */ });
  }

  var WHO = { patient: "Patiënt", assistant: "Assistent", staff: "Medewerker" };

  function refreshTranscript(list) {
    getJSON(list.dataset.url).then(function (data) {
      var items = data.lines.map(function (line) {
        var li = document.createElement("li");
        li.className = line.who;
        var who = document.createElement("span");
        who.className = "who";
        who.textContent = WHO[line.who] + (line.by ? " " + line.by : "");
        var text = document.createElement("span");
        text.className = "text";
        text.textContent = line.text;
        li.appendChild(who);
        li.appendChild(text);
        return li;
      });
      if (items.length !== list.children.length) {
        list.replaceChildren.apply(list, items);
        list.scrollTop = list.scrollHeight;
      }
      var status = document.getElementById("status");
      if (status) {
        status.textContent = data.paused ? "U voert dit gesprek; de assistent wacht." : "De assistent beantwoordt dit gesprek.";
      }
    }).catch(function () { /* the next refresh tries again */ });
  }

  var queue = document.getElementById("queue");
  if (queue) { setInterval(function () { refreshQueue(queue); }, INTERVAL_MS); }
  var transcript = document.getElementById("transcript");
  if (transcript) {
    transcript.scrollTop = transcript.scrollHeight;
    setInterval(function () { refreshTranscript(transcript); }, INTERVAL_MS);
  }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
