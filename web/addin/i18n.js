// The pane's words, Danish first and English second, and the choice between them.

const STRINGS = {
  da: {
    signInHeading: "Log ind",
    tokenLabel: "Adgangsnøgle",
    tokenHint: "Få en nøgle med «journaliser token --user DIT-NAVN» og indsæt den her.",
    signIn: "Log ind",
    signInMicrosoft: "Log ind med Microsoft",
    signedOut: "Du er ikke logget ind, eller din adgang er udløbet. Log ind igen.",
    uploadingMail: "Sender mailen til Journaliser …",
    uploadingDocument: "Sender dokumentet til Journaliser …",
    readingDocument: "Læser dokumentet fra Word …",
    suggesting: "Finder de sandsynlige sager …",
    ready: "Forslag klar. Vælg sag og journalisér.",
    readyDocument: "Forslag klar. Vælg sag og gem.",
    suggestionsHeading: "Forslag til sag",
    noSuggestions: "Ingen forslag. Søg efter sagen herunder.",
    confidence: "{pct} % sikker",
    searchLabel: "Søg sag (nummer, titel eller part)",
    searchResults: "Søgeresultater",
    searching: "Søger …",
    noResults: "Ingen sager matcher «{q}».",
    closed: "lukket",
    caseHeading: "Sag",
    titleLabel: "Dokumenttitel",
    attachmentsHeading: "Vedhæftede filer",
    withMail: "Med mailen",
    separate: "Separat dokument",
    skip: "Spring over",
    skippedByDefault: "Sprunget over: ligner et logo eller en signatur.",
    inlineNote: "vist i mailen",
    fileMail: "Journalisér",
    saveDocument: "Gem på sag",
    saveVersion: "Gem ny version",
    chooseCase: "Vælg en sag først.",
    sending: "Journaliserer …",
    queued: "I kø",
    queuedRetry: "I kø: forsøg {n} mislykkedes ({reason}); prøver igen kl. {time}.",
    filed: "Journaliseret som dok. {doc} på sag {case}.",
    filedVersion: "Gemt som dok. {doc}, version {version}, på sag {case}.",
    filedUnconfirmed: "Afleveret som dok. {doc} på sag {case}, men sagssystemet har ikke bekræftet det endnu.",
    failed: "Fejlet: {reason}",
    alreadyFiled: "Mailen er allerede journaliseret på sag {case} som dok. {doc}.",
    alreadyQueued: "Mailen er på vej til sag {case}:",
    alreadyFiledDocument: "Dokumentet er allerede gemt på sag {case} som dok. {doc}.",
    alreadyQueuedDocument: "Dokumentet er på vej til sag {case}:",
    fileElsewhere: "Journalisér på en anden sag",
    saveElsewhere: "Gem på en anden sag",
    marked: "Mailen er markeret «Journaliseret» i Outlook.",
    markFailed: "Mailen er journaliseret, men Outlook kunne ikke markere den: {reason}",
    noItem: "Vælg en mail for at journalisere den.",
    notMessage: "Kun mails kan journaliseres herfra.",
    needsMailbox114: "Denne udgave af Outlook kan ikke give hele mailen til Journaliser (kræver Mailbox 1.14). Brug Outlook på nettet eller nye Outlook.",
    outsideOffice: "Denne side hører til Office. Åbn Journaliser-forsiden for at prøve uden Office.",
    existingDocument: "Dokumentet er gemt på sag {case} som dok. {doc}. Gem igen for at lave en ny version.",
    saveAsNew: "Gem som nyt dokument i stedet",
    propertiesFailed: "Dokumentet er gemt, men dokument-id'et kunne ikke skrives i dokumentet: {reason}",
    propertiesUnsupported: "Denne udgave af Word kan ikke huske dokument-id'et (kræver WordApi 1.3); næste gem bliver et nyt dokument.",
    getFileFailed: "Word kunne ikke give dokumentet: {reason}",
    composeHint: "Vælg sagen nu; den sendte mail journaliseres, når den er afsendt.",
    fileOnSend: "Journalisér ved afsendelse",
    intentRecorded: "Mailen journaliseres på sag {case}, når den er sendt.",
    intentUndo: "Fortryd",
    intentUndone: "Mailen journaliseres ikke ved afsendelse.",
    intentStampFailed: "Valget er gemt, men Outlook kunne ikke mærke mailen: {reason}",
    dropHeading: "Prøv Journaliser",
    dropIntro: "Slip en mail (MSG fra Outlook eller EML), et Word-dokument (DOCX) eller en PDF her, eller vælg en fil.",
    pickFile: "Vælg fil …",
    chosenFile: "{name} ({size})",
    errNetwork: "Kan ikke nå Journaliser-serveren. Tjek forbindelsen og prøv igen.",
    err400: "Journaliser afviste forespørgslen.",
    err401: "Du er ikke logget ind, eller din adgang er udløbet.",
    err403: "Du har ikke adgang til dette.",
    err404: "Findes ikke, eller du har ikke adgang til det.",
    err409: "Det kan ikke lade sig gøre lige nu, fordi noget andet er ændret imens.",
    err413: "Filen er for stor til Journaliser.",
    err415: "Den filtype kan ikke journaliseres. Brug en mail (EML), et Word-dokument (DOCX) eller en PDF.",
    err422: "Journaliser kunne ikke nå at læse filen færdig.",
    err429: "For mange forespørgsler lige nu. Vent et øjeblik, og prøv igen.",
    err5xx: "Der skete en fejl hos Journaliser. Prøv igen om lidt.",
    errOffice: "Office svarede med en fejl: {reason}",
    errDetail: "Serverens besked: {message}",
    retry: "Prøv igen",
  },
  en: {
    signInHeading: "Sign in",
    tokenLabel: "Access token",
    tokenHint: "Get a token with “journaliser token --user YOUR-NAME” and paste it here.",
    signIn: "Sign in",
    signInMicrosoft: "Sign in with Microsoft",
    signedOut: "You are not signed in, or your access has expired. Sign in again.",
    uploadingMail: "Sending the mail to Journaliser …",
    uploadingDocument: "Sending the document to Journaliser …",
    readingDocument: "Reading the document from Word …",
    suggesting: "Finding the likely cases …",
    ready: "Suggestions ready. Choose a case and file.",
    readyDocument: "Suggestions ready. Choose a case and save.",
    suggestionsHeading: "Suggested cases",
    noSuggestions: "No suggestions. Search for the case below.",
    confidence: "{pct} % confident",
    searchLabel: "Search cases (number, title or party)",
    searchResults: "Search results",
    searching: "Searching …",
    noResults: "No case matches “{q}”.",
    closed: "closed",
    caseHeading: "Case",
    titleLabel: "Document title",
    attachmentsHeading: "Attachments",
    withMail: "With the mail",
    separate: "Separate document",
    skip: "Skip",
    skippedByDefault: "Skipped: looks like a logo or a signature.",
    inlineNote: "shown in the mail",
    fileMail: "File on case",
    saveDocument: "Save to case",
    saveVersion: "Save new version",
    chooseCase: "Choose a case first.",
    sending: "Filing …",
    queued: "Queued",
    queuedRetry: "Queued: attempt {n} failed ({reason}); trying again at {time}.",
    filed: "Filed as document {doc} on case {case}.",
    filedVersion: "Saved as document {doc}, version {version}, on case {case}.",
    filedUnconfirmed: "Delivered as document {doc} on case {case}, but the records system has not confirmed it yet.",
    failed: "Failed: {reason}",
    alreadyFiled: "This mail is already filed on case {case} as document {doc}.",
    alreadyQueued: "This mail is on its way to case {case}:",
    alreadyFiledDocument: "This document is already saved on case {case} as document {doc}.",
    alreadyQueuedDocument: "This document is on its way to case {case}:",
    fileElsewhere: "File on another case",
    saveElsewhere: "Save on another case",
    marked: "The mail is marked “Journaliseret” in Outlook.",
    markFailed: "The mail is filed, but Outlook could not mark it: {reason}",
    noItem: "Select a mail to file it.",
    notMessage: "Only mails can be filed from here.",
    needsMailbox114: "This version of Outlook cannot hand the whole mail to Journaliser (needs Mailbox 1.14). Use Outlook on the web or the new Outlook.",
    outsideOffice: "This page belongs in Office. Open the Journaliser start page to try it without Office.",
    existingDocument: "This document is saved on case {case} as document {doc}. Save again to make a new version.",
    saveAsNew: "Save as a new document instead",
    propertiesFailed: "The document is saved, but its document id could not be written into it: {reason}",
    propertiesUnsupported: "This version of Word cannot remember the document id (needs WordApi 1.3); the next save makes a new document.",
    getFileFailed: "Word could not hand over the document: {reason}",
    composeHint: "Choose the case now; the mail is filed once it has been sent.",
    fileOnSend: "File when sent",
    intentRecorded: "The mail will be filed on case {case} once it is sent.",
    intentUndo: "Undo",
    intentUndone: "The mail will not be filed when sent.",
    intentStampFailed: "The choice is saved, but Outlook could not mark the mail: {reason}",
    dropHeading: "Try Journaliser",
    dropIntro: "Drop a mail (MSG from Outlook, or EML), a Word document (DOCX) or a PDF here, or choose a file.",
    pickFile: "Choose file …",
    chosenFile: "{name} ({size})",
    errNetwork: "Cannot reach the Journaliser server. Check the connection and try again.",
    err400: "Journaliser refused the request.",
    err401: "You are not signed in, or your access has expired.",
    err403: "You do not have access to this.",
    err404: "Not found, or you do not have access to it.",
    err409: "That cannot be done right now, because something else changed meanwhile.",
    err413: "The file is too large for Journaliser.",
    err415: "That file type cannot be filed. Use a mail (EML), a Word document (DOCX) or a PDF.",
    err422: "Journaliser could not finish reading the file in time.",
    err429: "Too many requests right now. Wait a moment and try again.",
    err5xx: "Something went wrong at Journaliser. Try again shortly.",
    errOffice: "Office answered with an error: {reason}",
    errDetail: "The server said: {message}",
    retry: "Try again",
  },
};

let language = "da";

/** Danish for any Danish tag (`da`, `da-DK`), English for everything else. */
export function setLanguage(tag) {
  language = /^da\b/i.test(tag ?? "da") ? "da" : "en";
  document.documentElement.lang = language;
  return language;
}

export function currentLanguage() {
  return language;
}

/** The text for `key`, with `{name}` placeholders filled from `params`. */
export function t(key, params = {}) {
  const text = STRINGS[language][key] ?? STRINGS.da[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

// Never "0 %" or "100 %": a suggestion is neither impossible nor certain.
export function formatPercent(fraction) {
  if (fraction < 0.005) return "< 1";
  if (fraction > 0.995) return "> 99";
  return Math.round(fraction * 100);
}

export function formatTime(iso) {
  const locale = language === "da" ? "da-DK" : "en-GB";
  return new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}

export function formatSize(bytes) {
  const locale = language === "da" ? "da-DK" : "en-GB";
  const units = ["byte", "kilobyte", "megabyte"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return new Intl.NumberFormat(locale, {
    style: "unit",
    unit: units[unit],
    unitDisplay: "short",
    maximumFractionDigits: unit === 0 ? 0 : 1,
  }).format(value);
}
