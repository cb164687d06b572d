// Callroom browser client: the two AudioWorklet processors (capture and playback). Plain JavaScript, no
// build step: this file is loaded as is by audioWorklet.addModule().

/** Linear-interpolating rate converter with a one-pole low-pass before decimation (speech, not hi-fi). */
class RateConverter {
  constructor(fromRate, toRate) {
    this.step = fromRate / toRate;
    this.pos = 0;
    this.prev = 0;
    // Low-pass only when going down; the cutoff sits near the new Nyquist.
    this.alpha = toRate < fromRate ? 1 - Math.exp((-2 * Math.PI * (0.45 * toRate)) / fromRate) : 1;
    this.lp = 0;
  }

  /** Convert `input` (Float32Array), calling `emit(sample)` for each output sample. */
  process(input, emit) {
    if (this.step === 1) {
      for (let i = 0; i < input.length; i++) emit(input[i]);
      return;
    }
    for (let i = 0; i < input.length; i++) {
      this.lp += this.alpha * (input[i] - this.lp);
      const cur = this.lp;
      // Output samples falling between the previous input sample (t = -1) and this one (t = 0).
      while (this.pos <= 1) {
        emit(this.prev + (cur - this.prev) * this.pos);
        this.pos += this.step;
      }
      this.pos -= 1;
      this.prev = cur;
    }
  }
}

/**
 * Microphone -> 16-bit PCM frames of `frameMs` at `targetRate`, posted to the page (which sends each as
 * one binary WebSocket message).
 */
class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions || {};
    this.targetRate = o.targetRate || 16000;
    this.frameSamples = Math.round((this.targetRate * (o.frameMs || 20)) / 1000);
    this.converter = new RateConverter(sampleRate, this.targetRate);
    this.frame = new Int16Array(this.frameSamples);
    this.filled = 0;
    this.muted = false;
    this.port.onmessage = (e) => {
      if (e.data && e.data.type === 'mute') this.muted = !!e.data.muted;
    };
    this.emit = (s) => {
      const v = this.muted ? 0 : Math.max(-1, Math.min(1, s));
      this.frame[this.filled++] = v < 0 ? v * 0x8000 : v * 0x7fff;
      if (this.filled === this.frameSamples) {
        this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
        this.frame = new Int16Array(this.frameSamples);
        this.filled = 0;
      }
    };
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) this.converter.process(channel, this.emit);
    return true;
  }
}

/**
 * The agent's audio: 16-bit PCM chunks at `inputRate` in, converted to the context rate, through a jitter
 * buffer: playback starts once `prefillMs` is buffered, an underrun plays silence and buffers again,
 * `{type: 'clear'}` (playback_clear_buffer) drops everything not yet played.
 */
class PlaybackProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions || {};
    this.converter = new RateConverter(o.inputRate || 16000, sampleRate);
    this.prefill = Math.round((sampleRate * (o.prefillMs || 60)) / 1000);
    this.capacity = Math.round(sampleRate * ((o.maxMs || 4000) / 1000));
    this.ring = new Float32Array(this.capacity);
    this.read = 0;
    this.size = 0;
    this.playing = false;
    this.stats = { received: 0, played: 0, underruns: 0, cleared: 0, dropped: 0, peak: 0 };
    this.sinceReport = 0;
    this.push = (s) => {
      if (this.size === this.capacity) {
        this.read = (this.read + 1) % this.capacity;
        this.size--;
        this.stats.dropped++;
      }
      this.ring[(this.read + this.size) % this.capacity] = s;
      this.size++;
    };
    this.port.onmessage = (e) => {
      const d = e.data;
      if (d instanceof ArrayBuffer) {
        const pcm = new Int16Array(d);
        const f = new Float32Array(pcm.length);
        for (let i = 0; i < pcm.length; i++) f[i] = pcm[i] / 0x8000;
        this.stats.received += pcm.length;
        this.converter.process(f, this.push);
      } else if (d && d.type === 'clear') {
        this.stats.cleared += this.size;
        this.read = 0;
        this.size = 0;
        this.playing = false;
      }
    };
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    if (!this.playing && this.size >= this.prefill) this.playing = true;
    for (let i = 0; i < out.length; i++) {
      if (this.playing && this.size > 0) {
        const s = this.ring[this.read];
        this.read = (this.read + 1) % this.capacity;
        this.size--;
        out[i] = s;
        this.stats.played++;
        const a = Math.abs(s);
        if (a > this.stats.peak) this.stats.peak = a;
      } else {
        if (this.playing) {
          this.stats.underruns++;
          this.playing = false;
        }
        out[i] = 0;
      }
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    this.sinceReport += out.length;
    if (this.sinceReport >= sampleRate / 4) {
      this.sinceReport = 0;
      this.port.postMessage({ type: 'stats', bufferedMs: (this.size * 1000) / sampleRate, ...this.stats });
    }
    return true;
  }
}

registerProcessor('callroom-capture', CaptureProcessor);
registerProcessor('callroom-playback', PlaybackProcessor);
