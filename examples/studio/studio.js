// SPDX-License-Identifier: MIT
// The studio page: the model's facts, the generate form, the results as piano rolls that play
// through a small Web Audio synthesiser, and the training runs' loss curves. Everything it
// needs is in this file; it talks only to the studio that served it.
'use strict';

const $ = (id) => document.getElementById(id);
const studio = { model: null, job: null, results: [] };
window.lstmidiStudio = studio;  // state the tests read

// ---- drawing ---------------------------------------------------------------------------------

const PALETTE = ['#2b6cb0', '#d2691e', '#2f855a', '#b83280', '#6b46c1', '#c05621', '#2c7a7b',
                 '#975a16', '#e53e3e', '#4a5568', '#38a169', '#805ad5', '#dd6b20', '#3182ce'];

// One colour per instrument (program/part, drums), in the order they first appear.
function instrumentKey(n) { return n[6] ? 'drums' : `${n[4]}/${n[5]}`; }
function colours(notes) {
  const map = new Map();
  for (const n of notes) {
    const k = instrumentKey(n);
    if (!map.has(k)) map.set(k, k === 'drums' ? '#1d232b' : PALETTE[map.size % PALETTE.length]);
  }
  return map;
}

// Returns the number of notes drawn.
function drawRoll(canvas, piece) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 400, h = canvas.clientHeight || 220;
  canvas.width = Math.round(w * ratio);
  canvas.height = Math.round(h * ratio);
  const g = canvas.getContext('2d');
  g.scale(ratio, ratio);
  g.clearRect(0, 0, w, h);
  const notes = piece.notes;
  const end = Math.max(piece.end_beats, piece.primer_beats, 1);
  let lo = 127, hi = 0;
  for (const n of notes) { lo = Math.min(lo, n[2]); hi = Math.max(hi, n[2]); }
  if (lo > hi) { lo = 48; hi = 72; }
  lo -= 1; hi += 1;
  const x = (b) => (b / end) * w;
  const rowH = h / (hi - lo + 1);
  const y = (p) => (hi - p) * rowH;
  g.fillStyle = '#eceef2';
  g.fillRect(0, 0, x(piece.primer_beats), h);
  g.strokeStyle = '#e3e6ea';
  for (let b = 0; b <= end; b += 4) { g.beginPath(); g.moveTo(x(b), 0); g.lineTo(x(b), h); g.stroke(); }
  const cols = colours(notes);
  let drawn = 0;
  for (const n of notes) {
    if (!(n[1] > 0)) continue;
    g.fillStyle = cols.get(instrumentKey(n));
    g.globalAlpha = 0.45 + 0.55 * (n[3] / 127);
    g.fillRect(x(n[0]), y(n[2]), Math.max(1.5, x(n[1])), Math.max(1.5, rowH - 0.5));
    drawn++;
  }
  g.globalAlpha = 1;
  return drawn;
}

function drawCurve(canvas, history, title) {
  const g = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height;
  g.clearRect(0, 0, w, h);
  g.font = '11px sans-serif';
  g.fillStyle = '#5b6573';
  if (!history || !history.epochs || history.epochs.length === 0) {
    g.fillText(history && history.error ? history.error : 'no epochs yet', 8, 20);
    return 0;
  }
  const series = [['train', '#2b6cb0'], ['valid', '#d2691e']];
  let lo = Infinity, hi = -Infinity;
  for (const [k] of series) for (const v of history[k]) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!(hi > lo)) { hi = lo + 1; }
  const n = history.epochs.length;
  const L = 34, R = 8, T = 16, B = 18;
  const x = (i) => L + (n === 1 ? 0 : (i / (n - 1)) * (w - L - R));
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (h - T - B);
  g.strokeStyle = '#ccd2d9';
  g.strokeRect(L, T, w - L - R, h - T - B);
  g.fillText(hi.toFixed(2), 2, T + 4);
  g.fillText(lo.toFixed(2), 2, h - B);
  g.fillText(`${title || 'loss'} · epoch ${history.epochs[n - 1]}`, L, 11);
  for (const [k, colour] of series) {
    g.strokeStyle = colour;
    g.beginPath();
    let started = false;
    history[k].forEach((v, i) => {
      if (v === null) return;
      if (!started) { g.moveTo(x(i), y(v)); started = true; } else g.lineTo(x(i), y(v));
    });
    g.stroke();
    g.fillStyle = colour;
    g.fillText(k, w - R - (k === 'train' ? 70 : 34), h - 4);
  }
  return n;
}

// ---- sound -----------------------------------------------------------------------------------

// Seconds at `beat` under a tempo map [[beat, bpm], ...].
function secondsAt(tempos, beat) {
  const map = tempos.length ? tempos : [[0, 120]];
  let t = 0, at = 0, bpm = map[0][1];
  for (const [b, next] of map) {
    if (b >= beat) break;
    t += ((b - at) * 60) / bpm;
    at = b;
    bpm = next;
  }
  return t + ((beat - at) * 60) / bpm;
}

// A small synthesiser: one voice per note, its timbre from the General MIDI family, its
// loudness from the velocity; drums are noise and pitch-dropping sines.
const synth = {
  ctx: null, out: null, noise: null, events: [], next: 0, start: 0, timer: null,
  playing: false, scheduled: 0, card: null, piece: null, duration: 0,
  ensure() {
    if (this.ctx) return;
    this.ctx = new AudioContext();
    const comp = this.ctx.createDynamicsCompressor();
    this.out = this.ctx.createGain();
    this.out.gain.value = 0.5;
    this.out.connect(comp).connect(this.ctx.destination);
    const len = this.ctx.sampleRate;
    this.noise = this.ctx.createBuffer(1, len, this.ctx.sampleRate);
    const d = this.noise.getChannelData(0);
    let s = 12345;  // a fixed noise, the same on every play
    for (let i = 0; i < len; i++) { s = (s * 1103515245 + 12345) >>> 0; d[i] = (s / 2147483648) - 1; }
  },
  melodic(t, dur, pitch, vel, program) {
    const c = this.ctx, family = program >> 3;
    const shapes = ['triangle', 'sine', 'square', 'sawtooth', 'triangle', 'sawtooth', 'sawtooth',
                    'sawtooth', 'square', 'sine', 'square', 'sawtooth', 'triangle', 'triangle',
                    'sine', 'triangle'];
    const osc = c.createOscillator();
    osc.type = shapes[family] || 'triangle';
    osc.frequency.value = 440 * Math.pow(2, (pitch - 69) / 12);
    const filter = c.createBiquadFilter();
    filter.type = 'lowpass';
    filter.frequency.value = Math.min(12000, 900 + osc.frequency.value * (family === 7 ? 8 : 4));
    const amp = c.createGain();
    const peak = 0.25 * Math.pow(vel / 127, 1.6);
    const percussive = family === 0 || family === 1 || family === 3 || family === 13;
    const attack = family === 5 || family === 6 || family === 11 ? 0.06 : 0.008;
    amp.gain.setValueAtTime(0, t);
    amp.gain.linearRampToValueAtTime(peak, t + attack);
    if (percussive) amp.gain.setTargetAtTime(peak * 0.2, t + attack, 0.35);
    else amp.gain.setTargetAtTime(peak * 0.75, t + attack, 0.2);
    const end = t + Math.max(dur, 0.05);
    amp.gain.setTargetAtTime(0, end, 0.05);
    osc.connect(filter).connect(amp).connect(this.out);
    osc.start(t);
    osc.stop(end + 0.4);
  },
  drum(t, pitch, vel) {
    const c = this.ctx, peak = 0.5 * Math.pow(vel / 127, 1.4);
    const amp = c.createGain();
    amp.connect(this.out);
    if (pitch === 35 || pitch === 36 || pitch === 41 || pitch === 43 || pitch === 45 ||
        pitch === 47 || pitch === 48 || pitch === 50) {
      const osc = c.createOscillator();
      const f0 = pitch <= 36 ? 120 : 90 + (pitch - 41) * 18;
      osc.frequency.setValueAtTime(f0, t);
      osc.frequency.exponentialRampToValueAtTime(f0 * 0.4, t + 0.15);
      amp.gain.setValueAtTime(peak, t);
      amp.gain.exponentialRampToValueAtTime(0.001, t + 0.3);
      osc.connect(amp);
      osc.start(t);
      osc.stop(t + 0.32);
      return;
    }
    const src = c.createBufferSource();
    src.buffer = this.noise;
    const filter = c.createBiquadFilter();
    const cymbal = pitch === 49 || pitch === 51 || pitch === 52 || pitch === 55 || pitch === 57 || pitch === 59;
    const hat = pitch === 42 || pitch === 44 || pitch === 46;
    filter.type = cymbal || hat ? 'highpass' : 'bandpass';
    filter.frequency.value = cymbal || hat ? 7000 : 1800;
    const decay = cymbal ? 0.9 : pitch === 46 ? 0.35 : hat ? 0.06 : 0.18;
    amp.gain.setValueAtTime(peak, t);
    amp.gain.exponentialRampToValueAtTime(0.001, t + decay);
    src.connect(filter).connect(amp);
    src.start(t, Math.random() * 0.5);
    src.stop(t + decay + 0.02);
  },
  play(piece, card) {
    this.stop();
    this.ensure();
    this.ctx.resume();
    this.piece = piece;
    this.card = card;
    const tempos = piece.tempos;
    this.events = piece.notes
      .map((n) => ({ t: secondsAt(tempos, n[0]), d: secondsAt(tempos, n[0] + n[1]) - secondsAt(tempos, n[0]), n }))
      .sort((a, b) => a.t - b.t);
    this.duration = secondsAt(tempos, Math.max(piece.end_beats, 0));
    this.next = 0;
    this.scheduled = 0;
    this.start = this.ctx.currentTime + 0.15;
    this.playing = true;
    card.querySelector('.play').textContent = 'Stop';
    this.pump();
    this.timer = setInterval(() => this.pump(), 50);
    requestAnimationFrame(() => this.moveCursor());
  },
  // Schedules the notes of the next 0.4 s (thousands of notes never wait in the audio graph).
  pump() {
    if (!this.playing) return;
    const now = this.ctx.currentTime - this.start;
    while (this.next < this.events.length && this.events[this.next].t < now + 0.4) {
      const e = this.events[this.next++];
      const t = this.start + e.t;
      if (e.n[6]) this.drum(t, e.n[2], e.n[3]);
      else this.melodic(t, e.d, e.n[2], e.n[3], this.piece.single_track ? this.piece.program : e.n[4]);
      this.scheduled++;
    }
    if (this.next >= this.events.length && now > this.duration + 0.5) this.stop();
  },
  // The playing position in beats (the cursor's place on the roll).
  positionBeats() {
    if (!this.playing) return 0;
    const s = Math.max(0, this.ctx.currentTime - this.start);
    let lo = 0, hi = Math.max(this.piece.end_beats, 1);
    for (let i = 0; i < 40; i++) {
      const mid = (lo + hi) / 2;
      if (secondsAt(this.piece.tempos, mid) < s) lo = mid; else hi = mid;
    }
    return lo;
  },
  moveCursor() {
    if (!this.playing || !this.card) return;
    const cursor = this.card.querySelector('.cursor');
    const end = Math.max(this.piece.end_beats, this.piece.primer_beats, 1);
    cursor.style.display = 'block';
    cursor.style.left = `${(100 * this.positionBeats()) / end}%`;
    requestAnimationFrame(() => this.moveCursor());
  },
  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.playing = false;
    if (this.card) {
      this.card.querySelector('.cursor').style.display = 'none';
      this.card.querySelector('.play').textContent = 'Play';
    }
    if (this.out && this.ctx) {  // silence what is already scheduled
      this.out.disconnect();
      const comp = this.ctx.createDynamicsCompressor();
      this.out = this.ctx.createGain();
      this.out.gain.value = 0.5;
      this.out.connect(comp).connect(this.ctx.destination);
    }
  },
};
studio.synth = synth;

// ---- model facts, form, results --------------------------------------------------------------

function fact(name, value) {
  const dt = document.createElement('dt');
  dt.textContent = name;
  const dd = document.createElement('dd');
  dd.textContent = value;
  $('facts-list').append(dt, dd);
}

async function loadModel() {
  const m = await (await fetch('/api/model')).json();
  studio.model = m;
  $('model-name').textContent = m.name;
  fact('encoding', m.encoding);
  fact('size', `${m.layers.length} x LSTM(${m.layers.join(', ')})${m.embedding ? `, embedding ${m.embedding}` : ''}`);
  fact('parameters', m.parameters.toLocaleString('en'));
  fact(m.mode === 'pianoroll' ? 'keys' : 'vocabulary', m.vocabulary);
  if (m.instruments) fact('instruments', m.instruments);
  drawCurve($('loss-curve'), m.history, 'loss');
  if (m.evaluation) $('evaluation').textContent = m.evaluation;
  const primer = $('primer');
  const add = (value, text) => { const o = document.createElement('option'); o.value = value; o.textContent = text; primer.append(o); };
  if (m.primers.length) add('saved', 'a saved opening, picked by the seed');
  m.primers.forEach((p, i) => add(`saved:${i}`, `saved ${i}: ${p}`));
  add('notes', 'notes typed below');
  add('midi', 'a MIDI file');
  $('instruments-row').hidden = !m.instruments;
  $('events-rows').hidden = m.encoding !== 'events';  // voices, bar ends, length temperature
  $('instruments-hint').textContent = m.instruments ? `known: ${m.instruments}` : '';
  if (m.mode === 'pianoroll') {
    $('top-k').closest('label').hidden = true;  // every key is its own draw: top-p applies per key
    $('primer-notes').placeholder = 'C4.E4.G4 rest G3.B3.D4';
  }
  if (!m.half_supported) $('weights').querySelector('[value=float16]').disabled = true;
  primerChanged();
}

function primerChanged() {
  const v = $('primer').value;
  $('notes-row').hidden = v !== 'notes';
  $('file-row').hidden = v !== 'midi';
}

function showError(message) {
  $('error').textContent = message || '';
}


function renderResults(job) {
  const box = $('results');
  box.textContent = '';
  studio.results = job.variations;
  job.variations.forEach((piece, k) => {
    const card = document.createElement('div');
    card.className = 'card';
    card.dataset.index = String(k);
    const tempo = piece.tempos.length ? Math.round(piece.tempos[0][1]) : 120;
    const seconds = Math.round(secondsAt(piece.tempos, piece.end_beats));
    const title = document.createElement('h3');
    title.textContent = `Seed ${piece.seed}`;
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.textContent = `${piece.notes.length} notes · ${seconds} s · ${tempo} bpm` +
      (piece.time_signature ? ` · ${piece.time_signature}` : '') + (piece.key ? ` · ${piece.key}` : '') +
      ` · ${piece.generated} generated after ${piece.primer_size} from ${piece.primer_from}` +
      (piece.approximated ? ` · ${piece.approximated} primer events replaced by the nearest known` : '') +
      (piece.dropped ? ` · ${piece.dropped} notes left out` : '');
    const roll = document.createElement('div');
    roll.className = 'roll';
    const canvas = document.createElement('canvas');
    const cursor = document.createElement('div');
    cursor.className = 'cursor';
    roll.append(canvas, cursor);
    const row = document.createElement('div');
    row.className = 'row';
    const play = document.createElement('button');
    play.type = 'button';
    play.className = 'play';
    play.textContent = 'Play';
    play.addEventListener('click', () => {
      if (synth.playing && synth.card === card) synth.stop(); else synth.play(piece, card);
    });
    const link = document.createElement('a');
    link.className = 'download';
    link.href = `/api/jobs/${job.job}/midi/${k}`;
    link.download = `lstmidi-${piece.seed}.mid`;
    link.textContent = `Download MIDI (${piece.midi_bytes} bytes)`;
    const legend = document.createElement('div');
    legend.className = 'legend';
    for (const [name, colour] of colours(piece.notes)) {
      const s = document.createElement('span');
      const i = document.createElement('i');
      i.style.background = colour;
      s.append(i, name === 'drums' ? 'drums' : piece.single_track ? `program ${piece.program}` : `program ${name}`);
      legend.append(s);
    }
    row.append(play, link, legend);
    card.append(title, meta, roll, row);
    box.append(card);
    card.dataset.notesDrawn = String(drawRoll(canvas, piece));
  });
  document.body.dataset.results = String(job.variations.length);
}

async function poll(id) {
  for (;;) {
    if (studio.job !== id) return;  // a newer request took over
    const res = await fetch(`/api/jobs/${id}`);
    const job = await res.json();
    if (!res.ok) { showError(job.error); break; }
    const bar = $('progress');
    bar.max = Math.max(1, job.events_total);
    bar.value = job.events_done;
    $('status').textContent = job.state === 'queued' ? `waiting (${job.waiting} before it)`
      : job.state === 'running' ? `${job.events_done} of ${job.events_total} events` : job.state;
    if (job.state === 'done') { renderResults(job); break; }
    if (job.state === 'failed') { showError(job.error); break; }
    await new Promise((r) => setTimeout(r, 150));
  }
  $('progress').hidden = true;
}

async function generate(ev) {
  ev.preventDefault();
  showError('');
  const form = new FormData($('form'));
  if ($('primer').value !== 'midi') form.delete('primer_midi');
  if ($('primer').value !== 'notes') form.delete('primer_notes');
  $('progress').hidden = false;
  $('progress').value = 0;
  $('status').textContent = 'sending';
  document.body.dataset.results = '';
  let res;
  try {
    res = await fetch('/api/generate', { method: 'POST', body: form });
  } catch (e) {
    showError(`the studio does not answer: ${e.message}`);
    $('progress').hidden = true;
    return;
  }
  const answer = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (res.status !== 202) {
    showError(answer.error || `HTTP ${res.status}`);
    $('status').textContent = '';
    $('progress').hidden = true;
    document.body.dataset.results = 'error';
    return;
  }
  studio.job = answer.job;
  poll(answer.job);
}

// ---- training runs ---------------------------------------------------------------------------

async function refreshRuns() {
  let list;
  try { list = await (await fetch('/api/runs')).json(); } catch (e) { return; }
  if (!list.enabled) return;
  $('runs').hidden = false;
  const box = $('runs-list');
  const names = list.runs.slice(0, 24);
  if (box.dataset.names !== names.join('\n')) {
    box.textContent = '';
    names.forEach((name) => {
      const c = document.createElement('canvas');
      c.width = 300; c.height = 150;
      c.dataset.run = name;
      box.append(c);
    });
    box.dataset.names = names.join('\n');
  }
  await Promise.all(names.map(async (name, i) => {
    const r = await (await fetch(`/api/runs/${i}`)).json();
    const c = box.children[i];
    if (c) c.dataset.epochs = String(drawCurve(c, r.history, r.name || name));
  }));
}

$('form').addEventListener('submit', generate);
$('primer').addEventListener('change', primerChanged);
loadModel().catch((e) => showError(`cannot read the model: ${e.message}`));
refreshRuns();
setInterval(refreshRuns, 3000);
