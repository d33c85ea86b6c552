// ghoststream page: POSTs a prompt, reads the Server-Sent Events answer from the response body
// and shows it as it arrives. EventSource is not used because it can only GET.

const CHAT_URL = '/api/chat';
const PERSONAS_URL = '/api/personas';
const API_KEY_STORAGE = 'ghoststream.apiKey';
const ENDED_EARLY = 'The connection ended before the answer finished.';
const STATS_INTERVAL_MS = 250;

/* ------------------------------------------------------------------------------------------ */
/* SSE parsing: no DOM here, only text in and events out.                                      */
/* ------------------------------------------------------------------------------------------ */

/**
 * Incremental parser following the WHATWG event-stream rules. Feed it decoded text with push();
 * it calls onEvent({type, data, id}) for every dispatched event. Chunks may split anywhere,
 * including between the CR and LF of a CRLF.
 */
export function createSSEParser(onEvent) {
  const lineBreak = /\r\n|\r|\n/g;
  let buffer = '';
  let dataLines = [];
  let eventType = '';
  let lastId = '';
  let atStart = true;
  let skipLeadingLF = false; // the previous chunk ended in CR, which may be half of a CRLF

  function dispatch() {
    // Per spec an event without data is dropped, but its type still resets.
    if (dataLines.length > 0) {
      onEvent({ type: eventType || 'message', data: dataLines.join('\n'), id: lastId });
    }
    dataLines = [];
    eventType = '';
  }

  function processLine(line) {
    if (line === '') return dispatch();
    if (line.startsWith(':')) return; // comment, used as a heartbeat
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') dataLines.push(value);
    else if (field === 'event') eventType = value;
    else if (field === 'id' && !value.includes('\0')) lastId = value;
    // `retry` and unknown fields are ignored: this page never reconnects on its own.
  }

  function push(text) {
    if (!text) return;
    if (atStart) {
      atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a leading BOM is not data
    }
    if (skipLeadingLF) {
      skipLeadingLF = false;
      if (text.startsWith('\n')) text = text.slice(1);
    }
    buffer += text;

    let start = 0;
    lineBreak.lastIndex = 0;
    let match;
    while ((match = lineBreak.exec(buffer)) !== null) {
      // A CR at the very end may be followed by an LF in the next chunk: take the line now,
      // and drop that LF when it arrives so it does not count as an empty line.
      if (match[0] === '\r' && match.index === buffer.length - 1) skipLeadingLF = true;
      processLine(buffer.slice(start, match.index));
      start = lineBreak.lastIndex;
    }
    buffer = buffer.slice(start);
  }

  function end() {
    // Per spec, an event not terminated by a blank line is discarded at end of stream.
    buffer = '';
    dataLines = [];
    eventType = '';
  }

  return { push, end };
}

/* ------------------------------------------------------------------------------------------ */
/* HTTP: opening the stream and reading its events.                                            */
/* ------------------------------------------------------------------------------------------ */

/** An error with a message fit to show the user. */
class RequestError extends Error {
  constructor(message, retryable = false) {
    super(message);
    this.name = 'RequestError';
    this.retryable = retryable;
  }
}

function isAbortError(err) {
  return err instanceof DOMException && err.name === 'AbortError';
}

function authHeaders(apiKey) {
  return apiKey ? { Authorization: `Bearer ${apiKey}` } : {};
}

function parseJSON(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The most readable message in an error response: our own shape first, then FastAPI's. */
async function readErrorMessage(response) {
  const body = parseJSON(await response.text().catch(() => ''));
  const message = body?.error?.message;
  if (typeof message === 'string' && message) return message;
  const detail = body?.detail;
  if (typeof detail === 'string' && detail) return detail;
  if (Array.isArray(detail) && typeof detail[0]?.msg === 'string') return detail[0].msg;
  return `The service answered with HTTP ${response.status}.`;
}

/** POST the chat request; resolve to the response body stream or throw a RequestError. */
async function openChatStream(payload, apiKey, signal) {
  let response;
  try {
    response = await fetch(CHAT_URL, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'text/event-stream',
        ...authHeaders(apiKey),
      },
      body: JSON.stringify(payload),
      cache: 'no-store',
      signal,
    });
  } catch (err) {
    if (isAbortError(err)) throw err;
    throw new RequestError('Could not reach the service. Check your connection.', true);
  }
  if (!response.ok) {
    const retryable = [408, 429, 502, 503, 504].includes(response.status);
    throw new RequestError(await readErrorMessage(response), retryable);
  }
  if (!response.body) throw new RequestError('This browser cannot read a streamed answer.');
  return response.body;
}

/**
 * Read SSE events from a body stream. onEvent returns true for the event that ends the stream;
 * reading stops there. Resolves to true if such an event arrived, false if the body just ended.
 */
async function readEvents(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  let ended = false;
  // Events after the terminal one (same chunk) are ignored: exactly one ends a stream.
  const parser = createSSEParser((event) => {
    if (!ended && onEvent(event)) ended = true;
  });
  while (!ended) {
    const { value, done } = await reader.read();
    if (done) {
      parser.push(decoder.decode()); // flush a trailing partial UTF-8 sequence
      parser.end();
      break;
    }
    parser.push(decoder.decode(value, { stream: true }));
  }
  // Release the connection once the answer is complete, instead of waiting for the server.
  if (ended) reader.cancel().catch(() => {});
  return ended;
}

/* ------------------------------------------------------------------------------------------ */
/* UI                                                                                           */
/* ------------------------------------------------------------------------------------------ */

function formatStreamError(data) {
  let message = typeof data?.message === 'string' && data.message
    ? data.message
    : 'Something went wrong while generating the answer.';
  if (data?.retryable) {
    message += ' (you can retry)';
    const wait = Number(data.retry_after);
    if (Number.isFinite(wait) && wait > 0) message += ` Try again in ${Math.ceil(wait)} s.`;
  }
  return message;
}

function loadApiKey() {
  try {
    return sessionStorage.getItem(API_KEY_STORAGE) ?? '';
  } catch {
    return ''; // storage can be disabled; the field still works for this page load
  }
}

function saveApiKey(value) {
  try {
    if (value) sessionStorage.setItem(API_KEY_STORAGE, value);
    else sessionStorage.removeItem(API_KEY_STORAGE);
  } catch {
    /* storage disabled: nothing to remember */
  }
}

/** Replace the fallback persona option with the service's list; keep it if anything fails. */
async function loadPersonas(select, apiKey) {
  try {
    const response = await fetch(PERSONAS_URL, {
      headers: { Accept: 'application/json', ...authHeaders(apiKey) },
    });
    if (!response.ok) return;
    const body = await response.json();
    const personas = Array.isArray(body?.personas)
      ? body.personas.filter((p) => p && typeof p.name === 'string' && p.name)
      : [];
    if (personas.length === 0) return;
    const chosen = select.value;
    // new Option() sets text, never markup.
    select.replaceChildren(...personas.map((p) => new Option(p.label || p.name, p.name)));
    const names = personas.map((p) => p.name);
    if (names.includes(chosen) && chosen !== 'assistant') select.value = chosen;
    else if (names.includes(body.default)) select.value = body.default;
    else select.value = names[0];
  } catch {
    /* keep the static fallback option */
  }
}

function initPage() {
  const $ = (id) => document.getElementById(id);
  const els = {
    form: $('chat-form'),
    prompt: $('prompt'),
    persona: $('persona'),
    apiKey: $('api-key'),
    generate: $('generate'),
    stop: $('stop'),
    output: $('output'),
    status: $('status'),
    ttft: $('ttft'),
    tps: $('tps'),
    error: $('error'),
    notice: $('notice'),
  };

  let run = null; // the generation in progress, if any

  function setState(state, statusText) {
    document.body.dataset.state = state;
    els.status.textContent = statusText;
  }

  function showError(message) {
    els.error.textContent = message; // text first, so the alert announces the full message
    els.error.hidden = false;
  }

  function clearMessages() {
    els.error.hidden = true;
    els.error.textContent = '';
    els.notice.hidden = true;
    els.notice.textContent = '';
  }

  function setRunning(running) {
    // A button that gets disabled loses focus; hand focus to its partner so keyboard users
    // can Stop right after Generate, and Generate again right after Stop.
    const focused = document.activeElement;
    els.generate.disabled = running;
    els.stop.disabled = !running;
    els.output.setAttribute('aria-busy', String(running)); // screen readers read it once, at the end
    if (running && (focused === els.generate || focused === document.body)) els.stop.focus();
    if (!running && focused === els.stop) els.generate.focus();
  }

  function appendText(text) {
    // One text node grows with appendData: model output never becomes markup.
    if (!run.textNode) {
      run.textNode = document.createTextNode('');
      els.output.append(run.textNode);
    }
    run.textNode.appendData(text);
  }

  function updateStats(tokens = run.tokens) {
    if (run.firstTokenAt === null) return;
    els.ttft.textContent = String(Math.round(run.firstTokenAt - run.startedAt));
    const seconds = (performance.now() - run.firstTokenAt) / 1000;
    els.tps.textContent = seconds > 0 ? (tokens / seconds).toFixed(1) : '—';
  }

  /** Handle one SSE event; return true when it ends the stream. */
  function handleEvent(event) {
    const data = parseJSON(event.data);
    switch (event.type) {
      case 'token': {
        if (typeof data?.text !== 'string') return false;
        if (run.firstTokenAt === null) {
          run.firstTokenAt = performance.now();
          setState('streaming', 'Streaming…');
        }
        run.tokens += 1;
        appendText(data.text);
        updateStats();
        return false;
      }
      case 'done':
        run.result = { kind: 'done', data: data ?? {} };
        return true;
      case 'error':
        run.result = { kind: 'error', message: formatStreamError(data) };
        return true;
      default:
        return false; // unknown event types are ignored so the service can add new ones
    }
  }

  function finishRun() {
    clearInterval(run.ticker);
    const { result } = run;
    if (result.kind === 'done') {
      // The service's own count is exact even if it ever batches tokens into one event.
      const tokens = Number.isInteger(result.data.tokens) ? result.data.tokens : run.tokens;
      updateStats(tokens);
      setState('done', 'Done');
      if (result.data.finish_reason === 'length') {
        els.notice.textContent = 'The answer was cut short: it reached the length limit.';
        els.notice.hidden = false;
      }
    } else if (result.kind === 'stopped') {
      updateStats();
      setState('stopped', 'Stopped');
    } else {
      updateStats();
      showError(result.message);
      setState('error', 'Error');
    }
    run = null;
    setRunning(false);
  }

  async function generate() {
    if (run) return;
    clearMessages();
    els.output.replaceChildren();
    els.ttft.textContent = '—';
    els.tps.textContent = '—';

    const controller = new AbortController();
    run = {
      controller,
      startedAt: performance.now(),
      firstTokenAt: null,
      tokens: 0,
      textNode: null,
      result: null,
      stopped: false,
      // Keeps tokens/s live even while tokens pause.
      ticker: setInterval(() => run && updateStats(), STATS_INTERVAL_MS),
    };
    setState('streaming', 'Waiting for first token…');
    setRunning(true);

    const payload = {
      messages: [{ role: 'user', content: els.prompt.value }],
      persona: els.persona.value,
    };
    try {
      const body = await openChatStream(payload, els.apiKey.value.trim(), controller.signal);
      const ended = await readEvents(body, handleEvent);
      if (!ended) run.result = { kind: 'error', message: `${ENDED_EARLY} (you can retry)` };
    } catch (err) {
      if (run.result) {
        // The answer already ended; a late abort or read error changes nothing.
      } else if (run.stopped || isAbortError(err)) {
        run.result = { kind: 'stopped' };
      } else if (err instanceof RequestError) {
        const suffix = err.retryable ? ' (you can retry)' : '';
        run.result = { kind: 'error', message: err.message + suffix };
      } else {
        // The body failed mid-read: the network dropped or the server went away.
        run.result = { kind: 'error', message: `${ENDED_EARLY} (you can retry)` };
      }
    }
    finishRun();
  }

  function stop() {
    if (!run || run.result) return;
    run.stopped = true;
    run.controller.abort(); // rejects the pending fetch or read; generate() finishes the run
  }

  els.form.addEventListener('submit', (e) => {
    e.preventDefault();
    generate();
  });
  els.stop.addEventListener('click', stop);
  els.prompt.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (!run) els.form.requestSubmit(els.generate);
    }
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && run) stop();
  });

  els.apiKey.value = loadApiKey();
  els.apiKey.addEventListener('input', () => saveApiKey(els.apiKey.value.trim()));

  setState('idle', 'Ready');
  setRunning(false);
  loadPersonas(els.persona, els.apiKey.value.trim());
}

// Guarded so the parser can be imported outside a browser (for example by a Node test).
if (typeof document !== 'undefined') {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', initPage);
  else initPage();
}
