// The board's audible alarm: a two-tone siren from the Web Audio API, repeated while any fire
// incident is unanswered. Every time a siren burst really starts (audio context running) the
// counter <body data-alarm-sounds> goes up and data-alarm-playing is "1" while it sounds, so
// people and browser tests can both see that it played. Browsers may refuse to start audio
// before the user touched the page: then a banner asks for one click.

const BURST_S = 1.6;
const REPEAT_MS = 4000;

export class AlarmSound {
  constructor({ banner, onStateChange } = {}) {
    this.ctx = null;
    this.enabled = localStorage.getItem("sw.sound") !== "off";
    this.banner = banner;
    this.onStateChange = onStateChange;
    this.timer = null;
    this.wanted = false;
    document.body.dataset.alarmSounds = "0";
    document.body.dataset.alarmPlaying = "0";
    document.body.dataset.spoken = "0";
    banner?.addEventListener("click", () => this.unlock());
    // Ask for the click at once, not only when the first fire arrives: a browser that refuses
    // audio before a gesture leaves the context suspended, and the banner says so now.
    try { this.context(); } catch { /* no Web Audio */ }
    this.showBanner();
  }

  /** Say `text` aloud (browser speech synthesis, Chinese or English voice) when sound is on;
   * <body data-spoken> counts the announcements and data-last-spoken holds the last one. */
  speak(text, lang = "zh-CN") {
    if (!this.enabled || !("speechSynthesis" in window)) return;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = lang;
    utterance.rate = 0.9;
    window.speechSynthesis.speak(utterance);
    document.body.dataset.spoken = String(Number(document.body.dataset.spoken) + 1);
    document.body.dataset.lastSpoken = text;
  }

  async unlock() {
    this.context();
    try { await this.ctx.resume(); } catch { /* still blocked */ }
    // Speech needs the same gesture in some browsers: an empty utterance primes it.
    if ("speechSynthesis" in window) window.speechSynthesis.speak(new SpeechSynthesisUtterance(""));
    this.showBanner();
    if (this.wanted) this.burst();
  }

  context() {
    if (!this.ctx) this.ctx = new AudioContext();
    return this.ctx;
  }

  setEnabled(on) {
    this.enabled = on;
    localStorage.setItem("sw.sound", on ? "on" : "off");
    if (!on) this.stopLoop();
    else if (this.wanted) this.startLoop();
    this.onStateChange?.();
  }

  /** Sound while `active` is true; call on every change of the open incidents. */
  update(active) {
    const rising = active && !this.wanted;
    this.wanted = active;
    if (!active) return this.stopLoop();
    if (rising || !this.timer) this.startLoop();
  }

  startLoop() {
    if (!this.enabled) return;
    clearInterval(this.timer);
    this.burst();
    this.timer = setInterval(() => this.burst(), REPEAT_MS);
  }

  stopLoop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  showBanner() {
    if (this.banner) this.banner.hidden = !(this.enabled && this.ctx && this.ctx.state !== "running");
  }

  async burst() {
    if (!this.enabled || !this.wanted) return;
    const ctx = this.context();
    if (ctx.state !== "running") {
      try { await ctx.resume(); } catch { /* needs a gesture */ }
    }
    this.showBanner();
    if (ctx.state !== "running") return;
    const start = ctx.currentTime + 0.02;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "square";
    // 960 Hz / 770 Hz alternating every 0.2 s: the familiar European-style two-tone siren.
    for (let i = 0; i < BURST_S / 0.2; i += 1) {
      osc.frequency.setValueAtTime(i % 2 ? 770 : 960, start + i * 0.2);
    }
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.03);
    gain.gain.setValueAtTime(0.25, start + BURST_S - 0.05);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + BURST_S);
    osc.connect(gain).connect(ctx.destination);
    osc.onended = () => { document.body.dataset.alarmPlaying = "0"; };
    osc.start(start);
    osc.stop(start + BURST_S);
    document.body.dataset.alarmPlaying = "1";
    document.body.dataset.alarmSounds = String(Number(document.body.dataset.alarmSounds) + 1);
  }
}
