// Rampart Bank in the browser: a small client of the /v1 API, served by rampart itself.
//
// The session lives in an HttpOnly cookie that this script never sees; requests carry it
// because they go to the same origin. All text from the server or from users reaches the page
// through textContent or form values, never as markup: the page's Content-Security-Policy
// (require-trusted-types-for 'script') makes any string given to an HTML sink throw.

const $ = (id) => document.getElementById(id);
const SECTIONS = ["signin", "accounts", "account", "password"];
const PAGE = 10;

class Refused extends Error {
  constructor(status, problem, retryAfter) {
    super(problem && problem.detail ? problem.detail : `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

// One call to the API. Resolves to the JSON body (null for 204), rejects with Refused.
async function api(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers }, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch {
    throw new Refused(0, null, null);
  }
  if (resp.status === 204) return null;
  const data = await resp.json().catch(() => null);
  if (!resp.ok) throw new Refused(resp.status, data, resp.headers.get("Retry-After"));
  return data;
}

// What a customer is told about a refusal, in words.
function explain(err, context) {
  if (!(err instanceof Refused)) return "Something went wrong on this page. Please reload it.";
  const wait = err.retryAfter ? ` Please wait ${err.retryAfter} seconds and try again.` : " Please try again shortly.";
  switch (err.status) {
    case 0: return "The bank could not be reached. Check your connection and try again.";
    case 401: return context === "signin"
      ? "That username and password do not match an account."
      : "Your session has ended. Please sign in again.";
    case 403: return "This request did not come from the bank's own page and was refused. Reload the page and try again.";
    case 404: return "That account could not be found.";
    case 409: return "That username is already taken. Please choose another.";
    case 413: return "That is more text than the bank accepts.";
    case 422: return sentence(friendly(err.problem));
    case 429: return context === "signin"
      ? "Too many sign-in attempts." + wait
      : "Too many requests in a short time." + wait;
    case 503: return "The bank is busy or briefly unavailable." + wait;
    default: return "The request could not be completed. Please try again.";
  }
}

// The server's rule text (client-safe by design) with field names a customer knows.
function friendly(problem) {
  if (!problem || !problem.detail) return "The request breaks a rule.";
  const names = {
    amount: "The amount", memo: "The memo", name: "The name", username: "The username",
    password: "The password", new_password: "The new password",
    current_password: "The current password", to_account: "The receiving account",
    from_account: "The sending account", "Idempotency-Key": "This submission",
  };
  const field = problem.field;
  if (field && names[field] && problem.detail.startsWith(field + " ")) {
    return names[field] + problem.detail.slice(field.length);
  }
  return problem.detail;
}

function sentence(text) {
  const t = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(t) ? t : t + ".";
}

function show(id) {
  for (const s of SECTIONS) $(s).hidden = s !== id;
  $("loading").hidden = true;
}

function say(kind, text) {
  const other = kind === "error" ? "notice" : "error";
  $(other).hidden = true;
  $(kind).textContent = text;
  $(kind).hidden = !text;
}

function clearMessages() {
  say("error", "");
  say("notice", "");
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

const KINDS = {
  deposit: "Deposit", withdrawal: "Withdrawal",
  transfer_in: "Transfer received", transfer_out: "Transfer sent",
};

// --- state -------------------------------------------------------------------------------

let me = null;
let current = null; // the account shown
let paging = { cursors: [null], page: 0, next: null };

async function signedIn(user) {
  me = user;
  $("whoami").textContent = me.username;
  $("password-username").value = me.username;
  $("nav").hidden = false;
  await route();
}

// The address names the view, so that a reload or a bookmark keeps it: `#account=<id>` is
// an account's page, anything else the list of accounts.
const ACCOUNT_ROUTE = /^#account=([0-9a-f-]{36})$/;

async function route() {
  const m = ACCOUNT_ROUTE.exec(location.hash);
  if (m) await showAccount(m[1]);
  else await showAccounts();
}

function setRoute(hash) {
  if (location.hash !== hash) window.history.replaceState(null, "", hash || location.pathname);
}

function signedOut(message) {
  me = null;
  current = null;
  setRoute("");
  $("nav").hidden = true;
  for (const f of document.forms) f.reset();
  show("signin");
  if (message) say("notice", message);
}

// Any refusal: a 401 means the session ended (signed out elsewhere, expired, password
// changed), so the customer is sent back to the sign-in page.
function failed(err, context) {
  if (err instanceof Refused && err.status === 401 && context !== "signin") {
    signedOut("");
    say("error", explain(err, context));
    return;
  }
  say("error", explain(err, context));
}

// --- pages -------------------------------------------------------------------------------

async function showAccounts() {
  const list = await api("GET", "/v1/accounts");
  const rows = $("account-rows");
  rows.replaceChildren();
  const from = $("transfer-from");
  from.replaceChildren();
  for (const a of list.items) {
    const tr = document.createElement("tr");
    tr.append(cell(a.name), cell(`${a.balance} ${a.currency}`, "num"));
    const open = document.createElement("button");
    open.type = "button";
    open.textContent = "Open";
    open.addEventListener("click", () => run(() => showAccount(a.id)));
    const td = document.createElement("td");
    td.append(open);
    tr.append(td);
    rows.append(tr);
    const opt = document.createElement("option");
    opt.value = a.id;
    opt.textContent = `${a.name} (${a.balance} ${a.currency})`;
    from.append(opt);
  }
  $("no-accounts").hidden = list.items.length > 0;
  current = null;
  setRoute("");
  show("accounts");
}

async function showAccount(id) {
  const a = await api("GET", `/v1/accounts/${encodeURIComponent(id)}`);
  if (!current || current.id !== a.id) {
    // Another account: nothing typed for the last one carries over.
    for (const f of ["deposit-form", "withdraw-form", "history-form"]) $(f).reset();
  }
  current = a;
  $("account-name").textContent = a.name;
  $("account-balance").textContent = `${a.balance} ${a.currency}`;
  $("account-id").textContent = a.id;
  paging = { cursors: [null], page: 0, next: null };
  await loadHistory();
  setRoute(`#account=${a.id}`);
  show("account");
}

async function loadHistory() {
  const f = $("history-form");
  const params = new URLSearchParams({
    sort: f.elements.sort.value,
    order: f.elements.order.value,
    limit: String(PAGE),
  });
  const q = f.elements.q.value;
  if (q) params.set("q", q);
  const cursor = paging.cursors[paging.page];
  if (cursor) params.set("cursor", cursor);
  const page = await api("GET", `/v1/accounts/${encodeURIComponent(current.id)}/transactions?${params}`);
  const rows = $("history-rows");
  rows.replaceChildren();
  for (const e of page.items) {
    const tr = document.createElement("tr");
    const out = e.kind === "withdrawal" || e.kind === "transfer_out";
    let what = KINDS[e.kind] || e.kind;
    if (e.counterparty_account) what += out ? ` to ${e.counterparty_account}` : ` from ${e.counterparty_account}`;
    tr.append(
      cell(new Date(e.created_at).toLocaleString()),
      cell(what),
      cell((out ? "−" : "+") + e.amount, "num " + (out ? "out" : "in")),
      cell(e.memo, "memo"),
    );
    rows.append(tr);
  }
  paging.next = page.next_cursor;
  $("history-empty").hidden = page.items.length > 0;
  $("history-prev").disabled = paging.page === 0;
  $("history-next").disabled = !paging.next;
}

// --- actions -----------------------------------------------------------------------------

// Runs an action with the page's messages cleared first and its refusal explained.
async function run(action, context) {
  clearMessages();
  try {
    await action();
  } catch (err) {
    failed(err, context);
  }
}

// A form's submission: the button is disabled while it is in flight, so a double click sends
// once; money-moving forms also keep one idempotency key per submission, kept across a retry
// after a network error or 503 (the same submission) and dropped once the bank has answered.
function onSubmit(id, action, { context, idempotent } = {}) {
  const form = $(id);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button.disabled) return;
    if (idempotent && !form.dataset.key) form.dataset.key = crypto.randomUUID();
    button.disabled = true;
    clearMessages();
    try {
      await action(form, idempotent ? { "Idempotency-Key": form.dataset.key } : {});
      delete form.dataset.key;
    } catch (err) {
      if (!(err instanceof Refused) || (err.status !== 0 && err.status < 500)) delete form.dataset.key;
      failed(err, context);
    } finally {
      button.disabled = false;
    }
  });
}

const value = (form, name) => form.elements[name].value;

onSubmit("signin-form", async (f) => {
  await api("POST", "/v1/sessions/cookie", { username: value(f, "username"), password: value(f, "password") });
  f.reset();
  await signedIn(await api("GET", "/v1/me"));
}, { context: "signin" });

onSubmit("register-form", async (f) => {
  const credentials = { username: value(f, "username"), password: value(f, "password") };
  await api("POST", "/v1/users", credentials);
  await api("POST", "/v1/sessions/cookie", credentials);
  f.reset();
  await signedIn(await api("GET", "/v1/me"));
  say("notice", "Welcome! Your online banking is ready. Open your first account below.");
}, { context: "register" });

onSubmit("open-form", async (f) => {
  const a = await api("POST", "/v1/accounts", { name: value(f, "name") });
  f.reset();
  await showAccounts();
  say("notice", `Account “${a.name}” is open.`);
});

onSubmit("transfer-form", async (f, headers) => {
  const t = await api("POST", "/v1/transfers", {
    from_account: value(f, "from_account"),
    to_account: value(f, "to_account").trim(),
    amount: value(f, "amount"),
    memo: value(f, "memo"),
  }, headers);
  f.reset();
  await showAccounts();
  say("notice", `Sent ${t.amount} to account ${t.to_account}.`);
}, { idempotent: true });

for (const [id, path, done] of [
  ["deposit-form", "deposits", "Deposited"],
  ["withdraw-form", "withdrawals", "Withdrew"],
]) {
  onSubmit(id, async (f, headers) => {
    const e = await api("POST", `/v1/accounts/${encodeURIComponent(current.id)}/${path}`, {
      amount: value(f, "amount"),
      memo: value(f, "memo"),
    }, headers);
    f.reset();
    await showAccount(current.id);
    say("notice", `${done} ${e.amount}.`);
  }, { idempotent: true });
}

onSubmit("history-form", async () => {
  paging = { cursors: [null], page: 0, next: null };
  await loadHistory();
});

onSubmit("password-form", async (f) => {
  await api("POST", "/v1/me/password", {
    current_password: value(f, "current_password"),
    new_password: value(f, "new_password"),
  });
  f.reset();
  $("password-username").value = me.username;
  await showAccounts();
  say("notice", "Your password is changed. Every other session was signed out.");
}, { context: "password" });

$("history-next").addEventListener("click", () => run(async () => {
  if (!paging.next) return;
  paging.cursors[paging.page + 1] = paging.next;
  paging.page += 1;
  await loadHistory();
}));

$("history-prev").addEventListener("click", () => run(async () => {
  if (paging.page === 0) return;
  paging.page -= 1;
  await loadHistory();
}));

$("nav-accounts").addEventListener("click", () => run(showAccounts));
window.addEventListener("hashchange", () => { if (me) run(route); });
$("nav-password").addEventListener("click", () => { clearMessages(); show("password"); });
$("sign-out").addEventListener("click", () => run(async () => {
  await api("DELETE", "/v1/sessions/current");
  signedOut("You are signed out.");
}));

// --- start -------------------------------------------------------------------------------

(async () => {
  try {
    await signedIn(await api("GET", "/v1/me"));
  } catch (err) {
    signedOut("");
    if (!(err instanceof Refused && err.status === 401)) say("error", explain(err));
  }
})();
