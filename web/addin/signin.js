// The sign-in window of the dialog API, for Office versions without nested app authentication
// or single sign-on: MSAL signs in by redirect in this window, which then hands the token to
// the pane (`messageParent`) and is closed by it.

const send = (message) => Office.context.ui.messageParent(JSON.stringify(message));

Office.onReady(async () => {
  try {
    const config = await (await fetch(new URL("config.json", document.baseURI), { cache: "no-store" })).json();
    const app = new window.msal.PublicClientApplication({
      auth: { clientId: config.client_id, authority: config.authority, redirectUri: location.href.split(/[?#]/)[0] },
      cache: { cacheLocation: "sessionStorage" },
    });
    await app.initialize();
    const returned = await app.handleRedirectPromise();
    if (returned) {
      send({ accessToken: returned.accessToken });
      return;
    }
    await app.acquireTokenRedirect({ scopes: config.scopes });
  } catch (error) {
    send({ error: error?.message ?? String(error) });
  }
});
