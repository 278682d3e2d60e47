// Outlook's send event (OnMessageSend, PromptUser): makes sure a mail the user chose to file on
// send carries its opaque reference header, then lets it go. It never uploads anything and never
// blocks a mail. It runs in a JavaScript-only runtime in classic Outlook: no DOM, no relative
// URLs, and it touches no network at all.
(function () {
  var SESSION_KEY = "journaliser";
  var HEADER = "X-Journaliser-Ref";
  /** Outlook warns the user after five seconds; answer well before that whatever happens. */
  var DEADLINE_MS = 3000;

  function succeeded(result) {
    return result && result.status === Office.AsyncResultStatus.Succeeded;
  }

  /** The reference the compose pane stored for this draft, or null. */
  function readChoice(item, done) {
    if (!item.sessionData || typeof item.sessionData.getAsync !== "function") {
      done(null);
      return;
    }
    item.sessionData.getAsync(SESSION_KEY, function (result) {
      if (!succeeded(result) || !result.value) {
        done(null);
        return;
      }
      try {
        var choice = JSON.parse(result.value);
        done(choice && choice.reference ? choice : null);
      } catch (e) {
        done(null);
      }
    });
  }

  function headerValue(headers) {
    if (!headers) return null;
    for (var name in headers) {
      if (name.toLowerCase() === HEADER.toLowerCase() && headers[name]) return headers[name];
    }
    return null;
  }

  function onMessageSendHandler(event) {
    var finished = false;
    function allow() {
      if (finished) return;
      finished = true;
      event.completed({ allowEvent: true });
    }
    if (typeof setTimeout === "function") setTimeout(allow, DEADLINE_MS);
    try {
      var item = Office.context.mailbox.item;
      readChoice(item, function (choice) {
        // Nothing chosen: an ordinary mail, sent as is.
        if (!choice || !item.internetHeaders) {
          allow();
          return;
        }
        item.internetHeaders.getAsync([HEADER], function (result) {
          if (succeeded(result) && headerValue(result.value) === choice.reference) {
            allow();
            return;
          }
          var headers = {};
          headers[HEADER] = choice.reference;
          item.internetHeaders.setAsync(headers, allow);
        });
      });
    } catch (e) {
      allow();
    }
  }

  if (typeof Office !== "undefined" && Office.actions && Office.actions.associate) {
    Office.actions.associate("onMessageSendHandler", onMessageSendHandler);
  }
})();
