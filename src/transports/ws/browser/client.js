// Callroom browser client: joins a call over the Callroom WebSocket protocol. Microphone through an
// AudioWorklet at the call's input rate (16 kHz) to the socket; the agent's audio through a jitter buffer;
// live transcript, state, and client-tool invocations with a form to answer them. Plain ES module, no
// dependencies. Everything from the server is shown with textContent, never parsed as HTML.

const $ = (id) => document.getElementById(id);

/** What the page has seen, for people (the UI) and for tests (window.callroom). */
const stats = {
  framesSent: 0,
  framesReceived: 0,
  bytesReceived: 0,
  clears: 0,
  playback: null,
  contextRate: 0,
  micPeak: 0,
};
const events = [];
window.callroom = { stats, events, state: 'idle', ended: null, error: null };

let ws = null;
let ctx = null;
let stream = null;
let capture = null;
let playback = null;
const partials = new Map();

function log(text) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toISOString().slice(11, 23)} ${text}`;
  $('events').prepend(li);
  while ($('events').children.length > 200) $('events').lastChild.remove();
}

function setStatus(text) {
  $('status').textContent = text;
}

function setState(state) {
  window.callroom.state = state;
  $('state').textContent = state;
  $('state').dataset.state = state;
}

function showTranscript(msg) {
  const key = msg.role;
  let li = partials.get(key);
  if (li === undefined) {
    li = document.createElement('li');
    li.dataset.role = msg.role;
    $('transcript').append(li);
  }
  li.textContent = `${msg.role === 'assistant' ? 'Agent' : 'You'}: ${msg.text}${msg.interrupted ? ' [interrupted]' : ''}`;
  li.classList.toggle('partial', !msg.final);
  if (msg.final) partials.delete(key);
  else partials.set(key, li);
  $('transcript').scrollTop = $('transcript').scrollHeight;
}

function sendJson(value) {
  if (ws !== null && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(value));
}

function showInvocation(msg) {
  const empty = $('tools').querySelector('.empty');
  if (empty) empty.remove();
  const card = document.createElement('div');
  card.className = 'card';
  card.dataset.invocationId = msg.invocationId;
  const title = document.createElement('strong');
  title.textContent = msg.toolName;
  const params = document.createElement('pre');
  params.textContent = JSON.stringify(msg.parameters, null, 2);
  const answer = document.createElement('textarea');
  answer.rows = 2;
  answer.placeholder = 'result (text or JSON)';
  answer.className = 'result';
  const ok = document.createElement('button');
  ok.type = 'button';
  ok.className = 'send-result';
  ok.textContent = 'Send result';
  const fail = document.createElement('button');
  fail.type = 'button';
  fail.className = 'send-error';
  fail.textContent = 'Send error';
  const done = (text) => {
    card.classList.add('answered');
    ok.disabled = true;
    fail.disabled = true;
    answer.disabled = true;
    const note = document.createElement('div');
    note.textContent = text;
    card.append(note);
  };
  ok.addEventListener('click', () => {
    sendJson({ type: 'client_tool_result', invocationId: msg.invocationId, result: answer.value });
    done('answered');
  });
  fail.addEventListener('click', () => {
    sendJson({ type: 'client_tool_result', invocationId: msg.invocationId, errorType: 'implementation-error', errorMessage: answer.value || 'failed in the browser' });
    done('answered with an error');
  });
  card.append(title, params, answer, ok, fail);
  $('tools').prepend(card);
}

function onText(data) {
  let msg;
  try {
    msg = JSON.parse(data);
  } catch {
    return;
  }
  events.push(msg);
  switch (msg.type) {
    case 'call_started':
      setStatus(`in call ${msg.callId}`);
      startAudio(msg.inputSampleRate || 16000, msg.outputSampleRate || 16000).catch((err) => fail(`audio failed: ${err.message}`));
      break;
    case 'state':
      setState(msg.state);
      break;
    case 'transcript':
      showTranscript(msg);
      break;
    case 'client_tool_invocation':
      log(`client tool ${msg.toolName}`);
      showInvocation(msg);
      break;
    case 'playback_clear_buffer':
      stats.clears++;
      playback?.port.postMessage({ type: 'clear' });
      log('playback_clear_buffer');
      break;
    case 'error':
      log(`error ${msg.code}: ${msg.message}`);
      if (msg.code === 'client_tool_cancelled') {
        const card = $('tools').querySelector(`[data-invocation-id="${CSS.escape(msg.invocationId)}"]`);
        if (card) card.classList.add('answered');
      }
      break;
    case 'call_ended':
      window.callroom.ended = msg;
      setStatus(`call ended: ${msg.reason}${msg.detail ? ` (${msg.detail})` : ''}`);
      setState('idle');
      break;
    default:
      log(msg.type);
  }
}

function onAudio(buffer) {
  stats.framesReceived++;
  stats.bytesReceived += buffer.byteLength;
  if (playback !== null) playback.port.postMessage(buffer, [buffer]);
  $('received').textContent = String(stats.framesReceived);
}

/** In the click that joins (a user gesture, so audio may start): the context, the worklets, the microphone. */
async function prepareAudio() {
  try {
    ctx = new AudioContext({ sampleRate: 16000, latencyHint: 'interactive' });
  } catch {
    ctx = new AudioContext({ latencyHint: 'interactive' });
  }
  stats.contextRate = ctx.sampleRate;
  await ctx.audioWorklet.addModule('worklets.js');
  stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
}

/** On call_started: mic -> capture worklet (converted to the call's input rate) -> socket; socket -> playback. */
async function startAudio(inputRate, outputRate) {
  if (ctx === null || stream === null) throw new Error('audio was not prepared');
  const source = ctx.createMediaStreamSource(stream);
  capture = new AudioWorkletNode(ctx, 'callroom-capture', { numberOfOutputs: 0, processorOptions: { targetRate: inputRate, frameMs: 20 } });
  capture.port.onmessage = (e) => {
    if (ws === null || ws.readyState !== WebSocket.OPEN) return;
    ws.send(e.data);
    stats.framesSent++;
    const pcm = new Int16Array(e.data);
    let peak = 0;
    for (let i = 0; i < pcm.length; i++) peak = Math.max(peak, Math.abs(pcm[i]));
    stats.micPeak = Math.max(stats.micPeak, peak);
    $('mic-level').value = peak / 32768;
    $('sent').textContent = String(stats.framesSent);
  };
  source.connect(capture);
  playback = new AudioWorkletNode(ctx, 'callroom-playback', { outputChannelCount: [1], processorOptions: { inputRate: outputRate, prefillMs: 60, maxMs: 4000 } });
  playback.port.onmessage = (e) => {
    stats.playback = e.data;
    $('buffered').textContent = String(Math.round(e.data.bufferedMs));
    $('out-level').value = Math.min(1, e.data.peak);
  };
  playback.connect(ctx.destination);
  await ctx.resume();
  log(`audio: context ${ctx.sampleRate} Hz, mic ${inputRate} Hz, agent ${outputRate} Hz`);
}

function stopAudio() {
  capture?.disconnect();
  playback?.disconnect();
  stream?.getTracks().forEach((t) => t.stop());
  void ctx?.close();
  capture = null;
  playback = null;
  stream = null;
  ctx = null;
}

function fail(text) {
  window.callroom.error = text;
  log(text);
  setStatus(text);
}

async function join() {
  const url = $('join-url').value.trim();
  if (!/^wss?:\/\//.test(url)) {
    fail('joinUrl must start with ws:// or wss://');
    return;
  }
  $('join').disabled = true;
  setStatus('starting audio');
  try {
    await prepareAudio();
  } catch (err) {
    stopAudio();
    $('join').disabled = false;
    fail(`microphone or audio unavailable: ${err.message}`);
    return;
  }
  $('hangup').disabled = false;
  setStatus('connecting');
  ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (e) => (typeof e.data === 'string' ? onText(e.data) : onAudio(e.data));
  ws.onclose = (e) => {
    log(`socket closed ${e.code}`);
    if (window.callroom.ended === null) setStatus(`disconnected (${e.code})`);
    stopAudio();
    $('join').disabled = false;
    $('hangup').disabled = true;
    ws = null;
  };
  ws.onerror = () => log('socket error');
}

$('join').addEventListener('click', () => void join());
$('hangup').addEventListener('click', () => sendJson({ type: 'hang_up' }));
$('mute').addEventListener('change', (e) => capture?.port.postMessage({ type: 'mute', muted: e.target.checked }));
const given = new URLSearchParams(location.search).get('joinUrl');
if (given) $('join-url').value = given;
