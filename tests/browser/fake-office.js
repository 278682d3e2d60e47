// The fake `Office` (and `Word`) the tests put in the page before any of its scripts run. It
// follows Office.js's documented shapes (callbacks with AsyncResult, requirement sets) and keeps
// no state of its own: mailbox items, drafts and the Word document live in the Node side's host
// (host.js), reached through the exposed function `__officeHost`, so that they survive reloads
// and are shared between the task pane and the send handler's page.

/**
 * Runs in the browser; `options` is `{host, displayLanguage, sets, selected}`, and optionally
 * `officeTheme` (Office's theme colours), `ssoToken` (what `Office.auth.getAccessToken` gives)
 * and `dialogToken` (what the sign-in dialog sends back).
 */
export function installFakeOffice(options) {
  const call = (op, payload) => window.__officeHost(op, payload ?? null);
  const ok = (value) => ({ status: "succeeded", value, error: null });
  const fail = (message) => ({ status: "failed", value: null, error: { name: "FakeError", message, code: 9000 } });
  /** Office's optional-argument convention: the callback is the last function given. */
  const callbackOf = (args) => [...args].reverse().find((a) => typeof a === "function") ?? (() => {});
  const answer = (args, promise) => {
    const callback = callbackOf(args);
    promise.then((value) => callback(ok(value)), (error) => callback(fail(error.message ?? String(error))));
  };
  const hostCall = async (op, payload) => {
    const result = await call(op, payload);
    if (result && result.error) throw new Error(result.error);
    return result?.value;
  };

  const versionAtLeast = (have, want) => {
    const a = String(have).split(".").map(Number);
    const b = String(want ?? "1.1").split(".").map(Number);
    for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
      if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
    }
    return true;
  };

  function customProperties(owner) {
    return hostCall("props.get", owner).then((stored) => {
      const values = { ...stored };
      return {
        get: (name) => values[name],
        set: (name, value) => { values[name] = value; },
        remove: (name) => { delete values[name]; },
        getAll: () => ({ ...values }),
        saveAsync: (...args) => answer(args, hostCall("props.set", { owner, values })),
      };
    });
  }

  function readItem(d) {
    return {
      itemType: "message",
      itemId: d.id,
      subject: d.subject,
      getAsFileAsync: (...args) => answer(args, hostCall("mail.eml", d.id)),
      categories: {
        getAsync: (...args) => answer(args, hostCall("categories.get", d.id)),
        addAsync: (names, ...args) => answer(args, hostCall("categories.add", { id: d.id, names })),
      },
      loadCustomPropertiesAsync: (...args) => answer(args, customProperties(d.id)),
    };
  }

  function composeItem(d) {
    return {
      itemType: "message",
      subject: { getAsync: (...args) => answer(args, Promise.resolve(d.subject)) },
      body: { getAsync: (coercion, ...args) => answer(args, Promise.resolve(d.body)) },
      internetHeaders: {
        getAsync: (names, ...args) => answer(args, hostCall("headers.get", { id: d.id, names })),
        setAsync: (headers, ...args) => answer(args, hostCall("headers.set", { id: d.id, headers })),
        removeAsync: (names, ...args) => answer(args, hostCall("headers.remove", { id: d.id, names })),
      },
      sessionData: {
        getAsync: (name, ...args) => answer(args, hostCall("session.get", { id: d.id, name })),
        setAsync: (name, value, ...args) => answer(args, hostCall("session.set", { id: d.id, name, value })),
        removeAsync: (name, ...args) => answer(args, hostCall("session.remove", { id: d.id, name })),
      },
      loadCustomPropertiesAsync: (...args) => answer(args, customProperties(d.id)),
    };
  }

  const itemChangedHandlers = [];
  const actions = {};
  const calls = [];
  const context = {
    displayLanguage: options.displayLanguage,
    officeTheme: options.officeTheme,
    ui: {
      displayDialogAsync(url, dialogOptions, callback) {
        calls.push(["displayDialogAsync", url]);
        const handlers = {};
        const dialog = {
          addEventHandler: (type, handler) => { handlers[type] = handler; },
          close: () => calls.push(["dialog.close"]),
        };
        callback(ok(dialog));
        // The dialog's page signs in and sends its token with messageParent.
        setTimeout(() => handlers.dialogMessageReceived?.({ message: JSON.stringify({ accessToken: options.dialogToken }) }), 50);
      },
    },
    requirements: {
      isSetSupported: (name, version) => name in options.sets && versionAtLeast(options.sets[name], version),
    },
  };

  async function describe(id) {
    const d = id ? await hostCall("item.describe", id) : null;
    if (!d) return null;
    return d.mode === "compose" ? composeItem(d) : readItem(d);
  }

  if (options.host === "outlook") {
    context.mailbox = {
      item: null,
      addHandlerAsync: (type, handler, ...args) => {
        if (type === "olkItemSelectedChanged") itemChangedHandlers.push(handler);
        answer(args, Promise.resolve(undefined));
      },
      masterCategories: {
        getAsync: (...args) => answer(args, hostCall("master.get")),
        addAsync: (list, ...args) => answer(args, hostCall("master.add", list)),
      },
      userProfile: { emailAddress: "anna@vejstrand.example", displayName: "Anna" },
    };
  }

  if (options.host === "word") {
    context.document = {
      url: options.documentUrl,
      getFileAsync: (type, ...args) => {
        const sliceSize = args.find((a) => a && typeof a === "object")?.sliceSize ?? 4194304;
        answer(args, hostCall("word.open", { type, sliceSize }).then((opened) => ({
          size: opened.size,
          sliceCount: opened.sliceCount,
          getSliceAsync: (index, ...rest) => answer(rest, hostCall("word.slice", { file: opened.file, index })),
          closeAsync: (...rest) => answer(rest, hostCall("word.close", opened.file)),
        })));
      },
    };
    window.Word = {
      run: async (batch) => {
        const added = [];
        const collection = {
          items: [],
          load: () => collection,
          add: (key, value) => { added.push([key, String(value)]); },
        };
        const ctx = {
          document: { properties: { customProperties: collection } },
          sync: async () => {
            if (added.length) await hostCall("word.props.add", added.splice(0));
            const stored = await hostCall("word.props.get");
            collection.items = Object.entries(stored).map(([key, value]) => ({ key, value }));
          },
        };
        return batch(ctx);
      },
    };
  }

  let ready;
  window.Office = {
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    EventType: {
      ItemChanged: "olkItemSelectedChanged",
      DialogMessageReceived: "dialogMessageReceived",
      DialogEventReceived: "dialogEventReceived",
    },
    auth: {
      async getAccessToken(ssoOptions) {
        calls.push(["getAccessToken", ssoOptions]);
        if (!options.ssoToken) throw { code: 13001, message: "The user is not signed in to Office." };
        return options.ssoToken;
      },
    },
    FileType: { Compressed: "compressed", Pdf: "pdf", Text: "text" },
    CoercionType: { Text: "text", Html: "html" },
    HostType: { Outlook: "Outlook", Word: "Word" },
    MailboxEnums: { ItemType: { Message: "message", Appointment: "appointment" }, CategoryColor: { Preset4: "Preset4" } },
    context,
    actions: { associate: (name, handler) => { actions[name] = handler; } },
    onReady(callback) {
      ready ??= (async () => {
        if (context.mailbox) context.mailbox.item = await describe(options.selected);
        return { host: options.host === "word" ? "Word" : "Outlook", platform: "OfficeOnline" };
      })();
      return ready.then((info) => (callback ? callback(info) : info));
    },
  };

  /** What the tests drive: selecting another mail in a pinned pane, and the registered actions. */
  window.__fakeOffice = {
    actions,
    calls,
    async select(id) {
      context.mailbox.item = await describe(id);
      for (const handler of itemChangedHandlers) handler({ type: "olkItemSelectedChanged" });
    },
  };
}
