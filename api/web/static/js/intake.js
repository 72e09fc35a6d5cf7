/* Intake page: drop or choose files, hash each one in the browser (SHA-256 and BLAKE3 with
 * hash-wasm, streamed in 4 MiB slices) while it is uploaded to the intake endpoint, then
 * compare the browser's digests with the ones the server computed and recorded.
 * No inline script: the page's CSP forbids it. Every text is set with textContent. */
(function () {
  "use strict";
  var root = document.getElementById("intake");
  if (!root) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var words = document.getElementById("intake-words").dataset;
  var queue = document.getElementById("queue");
  var input = document.getElementById("files");
  var zone = document.getElementById("dropzone");
  var button = document.getElementById("upload-all");
  var status = document.getElementById("intake-status");
  var CHUNK = 4 * 1024 * 1024;
  var items = [];
  var counter = 0;

  function mib(n) { return (n / 1048576).toFixed(1) + " MiB"; }
  function rate(bytesPerSecond) { return mib(bytesPerSecond) + "/s"; }
  function seconds(s) {
    if (!isFinite(s)) { return "…"; }
    s = Math.max(0, Math.round(s));
    return s >= 60 ? Math.floor(s / 60) + " min " + (s % 60) + " s" : s + " s";
  }

  function makeItem(file) {
    var n = ++counter;
    var node = document.getElementById("file-row").content.firstElementChild.cloneNode(true);
    node.querySelector(".file-name").textContent = file.name;
    node.querySelector(".file-size").textContent = file.size + " bytes (" + mib(file.size) + ")";
    node.querySelectorAll("[data-field]").forEach(function (el) {
      el.id = "f" + n + "-" + el.dataset.field;
    });
    node.querySelectorAll("label[data-for]").forEach(function (label) {
      label.htmlFor = "f" + n + "-" + label.dataset.for;
    });
    node.querySelectorAll("[data-id]").forEach(function (el) {
      el.id = "f" + n + "-" + el.dataset.id;
    });
    node.querySelectorAll("[data-describe]").forEach(function (el) {
      el.setAttribute("aria-describedby", "f" + n + "-" + el.dataset.describe);
    });
    node.dataset.file = file.name;
    queue.appendChild(node);
    var item = {
      file: file,
      node: node,
      started: false,
      field: function (name) { return node.querySelector('[data-field="' + name + '"]'); },
      out: function (name) { return node.querySelector('[data-out="' + name + '"]'); }
    };
    node.querySelector(".outcome").textContent = words.waiting;
    return item;
  }

  function addFiles(list) {
    Array.prototype.forEach.call(list, function (file) { items.push(makeItem(file)); });
    button.disabled = !items.some(function (item) { return !item.started; });
  }

  function showProgress(item, kind, done, total, started) {
    var bar = item.field(kind + "-progress");
    bar.value = total > 0 ? (100 * done) / total : 100;
    var elapsed = (performance.now() - started) / 1000;
    var speed = elapsed > 0 ? done / elapsed : 0;
    var left = speed > 0 ? (total - done) / speed : Infinity;
    item.out(kind + "-rate").textContent =
      Math.round(bar.value) + "% · " + rate(speed) + " · " + words.left + " " + seconds(left);
  }

  async function hashFile(item) {
    var sha = await hashwasm.createSHA256();
    var b3 = await hashwasm.createBLAKE3();
    sha.init();
    b3.init();
    var size = item.file.size;
    var started = performance.now();
    for (var offset = 0; offset < size; offset += CHUNK) {
      var slice = item.file.slice(offset, Math.min(size, offset + CHUNK));
      var bytes = new Uint8Array(await slice.arrayBuffer());
      sha.update(bytes);
      b3.update(bytes);
      showProgress(item, "hash", offset + bytes.length, size, started);
    }
    if (size === 0) { showProgress(item, "hash", 0, 0, started); }
    return { sha256: sha.digest("hex"), blake3: b3.digest("hex") };
  }

  function upload(item, meta) {
    return new Promise(function (resolve) {
      var body = new FormData();
      body.append("metadata", JSON.stringify(meta)); // before the file: checked before a byte is stored
      body.append("file", item.file, item.file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", root.dataset.endpoint);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      var started = performance.now();
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { showProgress(item, "upload", e.loaded, e.total, started); }
      });
      xhr.addEventListener("load", function () {
        var answer = null;
        try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = null; }
        resolve({ status: xhr.status, body: answer });
      });
      xhr.addEventListener("error", function () { resolve({ status: 0, body: null }); });
      xhr.send(body);
    });
  }

  function metadataOf(item) {
    var meta = {
      case: root.dataset.case,
      filename: item.file.name,
      content_type: item.file.type || "application/octet-stream",
      description: item.field("description").value.trim(),
      seal_no: item.field("seal").value.trim() || null
    };
    var declared = item.field("declared").value.replace(/\s+/g, "").toLowerCase();
    if (declared) {
      meta.declared_digests = {};
      meta.declared_digests[item.field("algorithm").value] = declared;
    }
    return meta;
  }

  function compare(item, local, answer) {
    var outcome = item.out("outcome");
    if (answer.status !== 201 || !answer.body || !answer.body.digests) {
      var detail = answer.body && answer.body.detail ? answer.body.detail : words.network;
      outcome.textContent = words.refused + " (" + answer.status + "): " + detail;
      item.node.classList.add("failed");
      return false;
    }
    var table = item.node.querySelector(".digest-compare");
    table.hidden = false;
    var all = true;
    ["sha256", "blake3"].forEach(function (algorithm) {
      var server = answer.body.digests[algorithm] || "";
      var same = server === local[algorithm];
      all = all && same;
      item.out("browser-" + algorithm).textContent = local[algorithm];
      item.out("server-" + algorithm).textContent = server;
      var cell = item.out("match-" + algorithm);
      cell.textContent = same ? "✓ " + words.match : "✗ " + words.mismatch;
      cell.className = same ? "ok" : "fail";
    });
    outcome.textContent = (all ? words.allMatch : words.someMismatch) + " ";
    var link = document.createElement("a");
    link.href = "/evidence/" + encodeURIComponent(answer.body.id);
    link.textContent = words.open;
    outcome.appendChild(link);
    item.node.classList.add(all ? "done" : "failed");
    return all;
  }

  async function process(item) {
    item.started = true;
    item.node.querySelectorAll("input, textarea, select").forEach(function (el) { el.disabled = true; });
    item.out("outcome").textContent = words.uploading;
    var meta = metadataOf(item);
    var results = await Promise.all([hashFile(item), upload(item, meta)]);
    return compare(item, results[0], results[1]);
  }

  button.addEventListener("click", async function () {
    button.disabled = true;
    status.textContent = words.uploading;
    var ok = 0;
    var tried = 0;
    for (var i = 0; i < items.length; i++) {
      if (!items[i].started) {
        tried++;
        if (await process(items[i])) { ok++; }
      }
    }
    status.textContent = words.finished + " " + ok + "/" + tried;
  });

  input.addEventListener("change", function () {
    addFiles(Array.prototype.slice.call(input.files));
    input.value = "";
  });
  zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
  zone.addEventListener("drop", function (e) {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer && e.dataTransfer.files) { addFiles(e.dataTransfer.files); }
  });
  // a file dropped beside the zone must not make the browser leave the page
  document.addEventListener("dragover", function (e) { e.preventDefault(); });
  document.addEventListener("drop", function (e) { e.preventDefault(); });
}());
