// Sharing a file: a preview before anything is sent, then the upload with
// its progress. Errors stay beside the preview until it is sent or closed.

import { formatSize, fileKind } from "./render.js";

const $ = (id) => document.getElementById(id);

/**
 * Uploads wires the preview. opts: {nick(), token(), maxFileSize(),
 * onSent(), onClose(), encrypted(), seal(nick, file, onProgress)}: in an
 * encrypted room the file, its thumbnail and its description are sealed
 * here before anything is sent.
 */
export class Uploads {
  constructor(opts) {
    this.opts = opts;
    this.current = null; // {file, url} while a file waits in the preview
    $("upload-send").addEventListener("click", () => this.send());
    $("upload-cancel").addEventListener("click", () => this.clear());
    $("upload-preview").addEventListener("keydown", (ev) => { if (ev.key === "Escape") this.clear(); });
    $("file-input").addEventListener("change", () => {
      const f = $("file-input").files[0];
      if (f) this.preview(f);
    });
    this.wireDropZone($("room"));
  }

  /** preview shows a chosen file before it is sent: a picture's own preview
   * (never uploaded until Share), or its kind and size. */
  preview(file) {
    this.clear(false);
    this.current = { file, url: null };
    $("upload-name").textContent = file.name;
    $("upload-size").textContent = formatSize(file.size);
    $("upload-size").title = fileKind(file.name, file.type);
    const img = $("upload-thumb");
    if (/^image\/(jpeg|png|gif|webp)$/.test(file.type)) {
      this.current.url = URL.createObjectURL(file);
      img.src = this.current.url;
      img.hidden = false;
    } else {
      img.hidden = true;
    }
    const max = this.opts.maxFileSize();
    const tooBig = max && file.size > max;
    $("upload-error").textContent = tooBig ? "Too large: the room takes files up to " + formatSize(max) + "." : "";
    $("upload-send").disabled = !!tooBig;
    $("upload-preview").hidden = false;
    if (tooBig) $("upload-cancel").focus(); else $("upload-send").focus();
  }

  /** clear closes the preview; focus goes back to the message box. */
  clear(refocus = true) {
    if (this.current && this.current.url) URL.revokeObjectURL(this.current.url);
    const was = !!this.current;
    this.current = null;
    $("upload-preview").hidden = true;
    $("upload-thumb").removeAttribute("src");
    $("upload-error").textContent = "";
    $("file-input").value = "";
    if (was && refocus) this.opts.onClose();
  }

  async send() {
    const up = this.current;
    if (!up || up.sending) return;
    up.sending = true;
    const form = new FormData();
    const nick = this.opts.nick();
    form.append("nick", nick);
    const token = this.opts.token();
    if (token) form.append("token", token);
    $("upload-send").disabled = true;
    $("upload-error").textContent = "";
    if (this.opts.encrypted && this.opts.encrypted()) {
      try {
        const sealed = await this.opts.seal(nick, up.file, (done, total) => {
          if (this.current === up) $("upload-size").textContent = "Encrypting… " + (total ? Math.floor(done * 100 / total) : 100) + "%";
        });
        if (this.current !== up) return;
        form.append("text", sealed.text);
        form.append("file", sealed.file, "encrypted");
        if (sealed.thumb) form.append("thumb", sealed.thumb, "thumb");
      } catch (e) {
        up.sending = false;
        if (this.current !== up) return;
        $("upload-error").textContent = "The file could not be encrypted: " + e.message;
        $("upload-size").textContent = formatSize(up.file.size);
        $("upload-send").disabled = false;
        return;
      }
    } else {
      form.append("file", up.file, up.file.name);
    }
    up.sending = false;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/files");
    xhr.withCredentials = true;
    xhr.upload.addEventListener("progress", (ev) => {
      if (ev.lengthComputable) $("upload-size").textContent = "Uploading… " + Math.floor(ev.loaded * 100 / ev.total) + "%";
    });
    xhr.addEventListener("load", () => {
      if (this.current !== up) return; // cancelled meanwhile
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 201) { this.clear(); this.opts.onSent(data); return; }
      $("upload-error").textContent = (data && data.error) || ("The upload failed (" + xhr.status + ").");
      $("upload-size").textContent = formatSize(up.file.size);
      $("upload-send").disabled = xhr.status === 413 || xhr.status === 422;
    });
    xhr.addEventListener("error", () => {
      if (this.current !== up) return;
      $("upload-error").textContent = "The upload failed: the connection broke. Share again to retry.";
      $("upload-size").textContent = formatSize(up.file.size);
      $("upload-send").disabled = false;
    });
    xhr.send(form);
  }

  wireDropZone(room) {
    const files = (ev) => ev.dataTransfer && [...ev.dataTransfer.types].includes("Files");
    let depth = 0;
    room.addEventListener("dragenter", (ev) => {
      if (!files(ev)) return;
      ev.preventDefault();
      depth++;
      room.classList.add("dragging");
    });
    room.addEventListener("dragover", (ev) => {
      if (!files(ev)) return;
      ev.preventDefault();
      ev.dataTransfer.dropEffect = "copy";
    });
    room.addEventListener("dragleave", () => {
      if (--depth <= 0) { depth = 0; room.classList.remove("dragging"); }
    });
    room.addEventListener("drop", (ev) => {
      if (!files(ev)) return;
      ev.preventDefault();
      depth = 0;
      room.classList.remove("dragging");
      const f = ev.dataTransfer.files[0];
      if (f) this.preview(f);
    });
  }
}
