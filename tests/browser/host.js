// The Node side of the fake Office: the mailbox (read items, drafts, categories, custom
// properties, headers, session data) and the open Word document, as Outlook and Word would keep
// them. Pages reach it through `__officeHost(op, payload)`.

import { docx } from "./docx.js";

/** Word hands out slices no larger than this here, so the pane must put several together. */
const SLICE_CAP = 1024;

export class FakeHost {
  constructor() {
    this.items = new Map();
    this.masterCategories = [];
    this.word = null;
    this.openFiles = new Map();
    this.fileSerial = 0;
    this.log = [];
  }

  addMail(id, subject, eml) {
    this.items.set(id, { id, mode: "read", subject, eml, categories: [], props: {} });
  }

  addDraft(id, subject, body) {
    this.items.set(id, { id, mode: "compose", subject, body, headers: {}, session: {}, props: {} });
  }

  /** The document open in Word: its text may change between saves, its properties persist. */
  openDocument(title, paragraphs) {
    this.word = { title, paragraphs, properties: {} };
  }

  item(id) {
    const item = this.items.get(id);
    if (!item) throw new Error(`no item ${id}`);
    return item;
  }

  async handle(op, payload) {
    this.log.push(op);
    try {
      return { value: this.run(op, payload) };
    } catch (error) {
      return { error: error.message };
    }
  }

  run(op, p) {
    switch (op) {
      case "item.describe": {
        const { id, mode, subject, body } = this.item(p);
        return { id, mode, subject, body };
      }
      case "mail.eml":
        return this.item(p).eml.toString("base64");
      case "categories.get":
        return this.item(p).categories.map((name) => ({ displayName: name, color: "Preset4" }));
      case "categories.add": {
        // As in Outlook: only categories in the mailbox's master list can be applied.
        const missing = p.names.filter((n) => !this.masterCategories.some((m) => m.displayName === n));
        if (missing.length) throw new Error(`not in the master category list: ${missing.join(", ")}`);
        const item = this.item(p.id);
        for (const name of p.names) if (!item.categories.includes(name)) item.categories.push(name);
        return null;
      }
      case "master.get":
        return this.masterCategories;
      case "master.add":
        for (const category of p) {
          if (this.masterCategories.some((m) => m.displayName === category.displayName)) {
            throw new Error(`duplicate category ${category.displayName}`);
          }
          this.masterCategories.push(category);
        }
        return null;
      case "props.get":
        return this.item(p).props;
      case "props.set":
        this.item(p.owner).props = { ...p.values };
        return null;
      case "headers.get": {
        const headers = this.item(p.id).headers;
        return Object.fromEntries(p.names.filter((n) => n in headers).map((n) => [n, headers[n]]));
      }
      case "headers.set":
        Object.assign(this.item(p.id).headers, p.headers);
        return null;
      case "headers.remove":
        for (const name of p.names) delete this.item(p.id).headers[name];
        return null;
      case "session.get":
        return this.item(p.id).session[p.name] ?? "";
      case "session.set":
        this.item(p.id).session[p.name] = p.value;
        return null;
      case "session.remove":
        delete this.item(p.id).session[p.name];
        return null;
      case "word.open": {
        if (p.type !== "compressed") throw new Error(`file type ${p.type} not offered here`);
        // Word refuses a third open file: the pane must close every file it opens.
        if (this.openFiles.size >= 2) throw new Error("too many open files (close them with closeAsync)");
        if (p.sliceSize > 4194304) throw new Error("Internal Error");
        const bytes = this.documentBytes();
        const sliceSize = Math.min(p.sliceSize, SLICE_CAP);
        const file = ++this.fileSerial;
        this.openFiles.set(file, { bytes, sliceSize });
        return { file, size: bytes.length, sliceCount: Math.ceil(bytes.length / sliceSize) };
      }
      case "word.slice": {
        const open = this.openFiles.get(p.file);
        if (!open) throw new Error("the file is closed");
        const data = open.bytes.subarray(p.index * open.sliceSize, (p.index + 1) * open.sliceSize);
        return { index: p.index, size: data.length, data: [...data] };
      }
      case "word.close":
        this.openFiles.delete(p);
        return null;
      case "word.props.add":
        for (const [key, value] of p) this.word.properties[key] = value;
        return null;
      case "word.props.get":
        return this.word.properties;
      default:
        throw new Error(`unknown host call ${op}`);
    }
  }

  /** The document as Word would save it now, custom properties included. */
  documentBytes() {
    return docx(this.word);
  }
}
