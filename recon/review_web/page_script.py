"""The review page's inline CSS (on top of the report's) and its small script.

The script does three things: move a visible focus over the rows with the keyboard,
keep the running total of rows selected for a hand match (in integer minor units,
BigInt, never floating point), and post actions to the JSON endpoints with the
token in a header. `a` takes the focus to the account field for the focused bank
row (or the bank rows selected with `x`); Enter there books them to that account.
It reads data only from `data-*` attributes the server wrote.
"""

from __future__ import annotations

REVIEW_CSS = """
body { margin-bottom: 9rem; } td.date, td.mark, td.num, td.actions { white-space: nowrap; }
td.actions button { display: block; width: 100%; }
.keys { color: #5b6475; font-size: 12px; } kbd { border: 1px solid #c5cad3; border-radius: 3px; padding: 0 .3rem;
  font: 12px ui-monospace, monospace; background: #f4f6f9; }
.item:focus { outline: 3px solid #2456d6; outline-offset: -3px; background: #eef3ff; }
.item.selected { background: #fff6d6; } .item.selected:focus { background: #fde9a8; }
.mark { font-family: ui-monospace, monospace; width: 1.5rem; text-align: center; }
.sub { display: block; } .side { color: #5b6475; font-size: 12px; text-transform: uppercase; margin-right: .3rem; }
.badge { display: inline-block; font-size: 12px; border-radius: 3px; padding: 0 .35rem; background: #e8f0e9;
  color: #1b6e3a; margin-left: .3rem; }
button { font: inherit; font-size: 13px; padding: .15rem .5rem; margin: 0 .15rem .15rem 0; cursor: pointer; }
button:focus-visible, input:focus-visible { outline: 3px solid #2456d6; outline-offset: 1px; }
#tray { position: fixed; left: 0; right: 0; bottom: 0; background: #fff; border-top: 2px solid #1d2433;
  padding: .6rem 1rem; box-shadow: 0 -2px 6px rgba(0,0,0,.08); }
#tray .inner { max-width: 72rem; margin: 0 auto; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
#total.zero { color: #1b6e3a; font-weight: 600; } #total.off { color: #a12020; font-weight: 600; }
#note { width: 22rem; } #category { width: 20rem; }
.badge.category { background: #eef1f6; color: #1d2433; } .badge.category.person { background: #fff1d6; }
#status { min-height: 1.2rem; } #status.error { color: #a12020; } #status.ok { color: #1b6e3a; }
"""

REVIEW_JS = r"""
(() => {
  const token = document.querySelector('meta[name="recon-token"]').content;
  const items = Array.from(document.querySelectorAll('.item'));
  const status = document.getElementById('status');
  const note = document.getElementById('note');
  const saveButton = document.getElementById('save-match');
  const total = document.getElementById('total');
  const category = document.getElementById('category');
  const categoryRows = document.getElementById('category-rows');
  let categoryTargets = [];
  let categoryReturn = null;

  function say(message, kind) {
    status.textContent = message;
    status.className = kind;
  }

  let lastIndex = 0;

  function focusItem(index) {
    if (!items.length) return;
    const i = Math.max(0, Math.min(items.length - 1, index));
    items[i].focus();
  }

  function current() {
    const el = document.activeElement;
    return el ? el.closest('.item') : null;
  }

  document.addEventListener('focusin', (event) => {
    const item = event.target.closest && event.target.closest('.item');
    if (!item) return;
    lastIndex = items.indexOf(item);
    sessionStorage.setItem('recon-focus', item.dataset.key);
    sessionStorage.setItem('recon-focus-index', String(lastIndex));
  });

  function format(minor, exponent) {
    const negative = minor < 0n;
    let digits = (negative ? -minor : minor).toString();
    if (exponent > 0) {
      digits = digits.padStart(exponent + 1, '0');
      digits = digits.slice(0, -exponent) + '.' + digits.slice(-exponent);
    }
    return (negative ? '-' : '') + digits;
  }

  function selection() {
    const rows = items.filter((el) => el.classList.contains('selected'));
    const sides = { bank: [], ledger: [] };
    const sums = { bank: 0n, ledger: 0n };
    const currencies = new Set();
    let exponent = 2;
    for (const el of rows) {
      sides[el.dataset.side].push(el.dataset.rowId);
      sums[el.dataset.side] += BigInt(el.dataset.amountMinor);
      currencies.add(el.dataset.currency);
      exponent = Number(el.dataset.exponent);
    }
    const difference = sums.bank - sums.ledger;
    const ready = sides.bank.length > 0 && sides.ledger.length > 0 && currencies.size === 1 && difference === 0n;
    return { sides, sums, currencies, exponent, difference, ready };
  }

  function updateTotal() {
    const s = selection();
    const currency = s.currencies.size === 1 ? ' ' + [...s.currencies][0] : '';
    if (s.currencies.size > 1) {
      total.textContent = 'rows in different currencies cannot be matched';
      total.className = 'off';
    } else {
      total.textContent = `bank ${format(s.sums.bank, s.exponent)} (${s.sides.bank.length}) − ledger ` +
        `${format(s.sums.ledger, s.exponent)} (${s.sides.ledger.length}) = ` +
        `${format(s.difference, s.exponent)}${currency}`;
      total.className = s.difference === 0n && (s.sides.bank.length || s.sides.ledger.length) ? 'zero' : 'off';
    }
    saveButton.disabled = !s.ready;
  }

  async function act(action, body) {
    say('saving ...', '');
    let reply;
    try {
      const response = await fetch('/api/' + action, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Recon-Token': token },
        body: JSON.stringify(Object.assign({ note: note.value }, body)),
      });
      reply = await response.json();
    } catch (error) {
      say('the review server did not answer: ' + error, 'error');
      return;
    }
    if (!reply.ok) {
      say(reply.error, 'error');
      return;
    }
    sessionStorage.setItem('recon-status', reply.message);
    location.reload();
  }

  function toggle(item) {
    if (!item || item.dataset.kind !== 'row') return;
    item.classList.toggle('selected');
    const selected = item.classList.contains('selected');
    item.setAttribute('aria-selected', selected ? 'true' : 'false');
    item.querySelector('.mark').textContent = selected ? '[x]' : '[ ]';
    updateTotal();
  }

  function saveMatch() {
    const s = selection();
    if (!s.ready) {
      say('select bank and ledger rows whose total difference is zero', 'error');
      return;
    }
    act('match', { bank_ids: s.sides.bank, ledger_ids: s.sides.ledger });
  }

  function bankRowsFor(item) {
    // the bank rows selected with x, else the focused one
    const selected = items.filter((el) => el.classList.contains('selected') && el.dataset.side === 'bank');
    if (selected.length) return selected;
    return item && item.dataset.kind === 'row' && item.dataset.side === 'bank' ? [item] : [];
  }

  function startCategory(item) {
    const rows = bankRowsFor(item);
    if (!rows.length) {
      say('focus an open bank row (or select bank rows with x) to book it to an account', 'error');
      return;
    }
    categoryTargets = rows.map((el) => el.dataset.rowId);
    categoryReturn = item;
    categoryRows.textContent = rows.length === 1 ? 'bank row ' + categoryTargets[0] : rows.length + ' bank rows';
    category.focus();
  }

  function saveCategory() {
    if (!categoryTargets.length) {
      say('press a on an open bank row first', 'error');
      return;
    }
    if (!category.value.trim()) {
      say('type the GL account to book the row to', 'error');
      return;
    }
    act('categorize', { bank_ids: categoryTargets, category: category.value });
  }

  function run(command, item) {
    if (!item) return;
    const kind = item.dataset.kind;
    if ((command === 'confirm' || command === 'reject') && kind === 'suggestion') {
      act(command, { match_id: item.dataset.matchId });
    } else if (command === 'book' && kind === 'row' && item.dataset.side === 'bank') {
      if (item.dataset.bookDecision) act('undo', { decision_id: item.dataset.bookDecision });
      else act('book', { bank_ids: [item.dataset.rowId] });
    } else if (command === 'categorize') {
      startCategory(item);
    } else if (command === 'not-duplicate' && kind === 'duplicate') {
      act('not_duplicate', { row_ids: [item.dataset.rowId] });
    } else if (command === 'undo' && item.dataset.decisionId) {
      act('undo', { decision_id: item.dataset.decisionId });
    } else if (command === 'select') {
      toggle(item);
    }
  }

  document.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-command]');
    if (button) run(button.dataset.command, button.closest('.item'));
  });
  saveButton.addEventListener('click', saveMatch);

  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target === category) {
      if (event.key === 'Enter') { event.preventDefault(); saveCategory(); }
      if (event.key === 'Escape') {
        event.preventDefault();
        if (categoryReturn) categoryReturn.focus(); else focusItem(lastIndex);
      }
      return;
    }
    const typing = event.target === note;
    if (typing) {
      if (event.key === 'Enter') { event.preventDefault(); saveMatch(); }
      if (event.key === 'Escape') { event.preventDefault(); focusItem(lastIndex); }
      return;
    }
    if (event.target.tagName === 'BUTTON' && (event.key === 'Enter' || event.key === ' ')) return;
    const focused = current();
    const index = focused ? items.indexOf(focused) : lastIndex;
    const keys = {
      j: () => focusItem(focused ? index + 1 : index), ArrowDown: () => focusItem(focused ? index + 1 : index),
      k: () => focusItem(index - 1), ArrowUp: () => focusItem(index - 1),
      c: () => run('confirm', focused), r: () => run('reject', focused), x: () => run('select', focused),
      ' ': () => run('select', focused), b: () => run('book', focused), u: () => run('undo', focused),
      a: () => run('categorize', focused), d: () => run('not-duplicate', focused),
      Enter: () => saveMatch(), n: () => note.focus(), '/': () => note.focus(),
    };
    const handler = keys[event.key];
    if (handler) { event.preventDefault(); handler(); }
  });

  const message = sessionStorage.getItem('recon-status');
  if (message) { say(message, 'ok'); sessionStorage.removeItem('recon-status'); }
  // after a reload, focus the same row again, or the one that took the place of a row decided on
  const remembered = items.findIndex((el) => el.dataset.key === sessionStorage.getItem('recon-focus'));
  focusItem(remembered >= 0 ? remembered : Number(sessionStorage.getItem('recon-focus-index') || 0));
  updateTotal();
})();
"""
