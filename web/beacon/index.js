// Vigil's RUM beacon: reports one page view's Core Web Vitals to Vigil.
// The metrics come from the web-vitals package; this file only queues and sends them.
// Wire format: docs/rum.md ("Beacon wire format"). Never throws into the host page, sets no
// cookies and uses no storage.
import { onCLS, onFCP, onINP, onLCP, onTTFB } from "web-vitals";

const MAX_EVENTS = 50; // per body, as the ingest endpoint accepts

function settings(script) {
  // data-site="KEY" data-endpoint="https://vigil.example.com/rum/v1/KEY" data-sample="0.5"
  const site = script.getAttribute("data-site");
  let endpoint = script.getAttribute("data-endpoint");
  if (!endpoint && site && script.src) {
    endpoint = new URL("/rum/v1/" + encodeURIComponent(site), script.src).href;
  }
  const raw = script.getAttribute("data-sample");
  const parsed = raw === null || raw === "" ? 1 : Number(raw);
  const sample = parsed >= 0 ? Math.min(parsed, 1) : 1; // NaN and negatives: report everything
  return { endpoint, sample };
}

function send(endpoint, body) {
  try {
    if (navigator.sendBeacon && navigator.sendBeacon(endpoint, new Blob([body], { type: "text/plain" }))) {
      return;
    }
  } catch (_) {
    // fall through to fetch
  }
  try {
    fetch(endpoint, {
      method: "POST",
      body,
      keepalive: true,
      credentials: "omit",
      headers: { "Content-Type": "text/plain" },
    }).catch(() => {});
  } catch (_) {
    // nothing more we can do without disturbing the page
  }
}

function start(script) {
  const { endpoint, sample } = settings(script);
  if (!endpoint || !(Math.random() < sample)) return; // this page view is not sampled
  const page = location.pathname; // the server drops IDs, query strings and fragments
  const queue = [];

  const flush = () => {
    try {
      while (queue.length) {
        const events = queue.splice(0, MAX_EVENTS);
        const body = { page, events };
        const vw = window.innerWidth;
        if (vw >= 0) body.vw = Math.round(vw);
        send(endpoint, JSON.stringify(body));
      }
    } catch (_) {
      queue.length = 0;
    }
  };

  const report = (metric) => {
    try {
      queue.push({
        name: metric.name,
        value: metric.value,
        delta: metric.delta,
        id: metric.id,
        rating: metric.rating,
        navigationType: metric.navigationType,
        timestamp: Date.now(),
      });
    } catch (_) {
      // a malformed report is dropped
    }
  };

  // pagehide fires before visibilitychange, and web-vitals reports CLS and INP only on
  // visibilitychange: send what is queued on each of the two events.
  addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flush();
  });
  addEventListener("pagehide", flush);

  onLCP(report);
  onINP(report);
  onCLS(report);
  onFCP(report);
  onTTFB(report);
}

try {
  // Captured now: document.currentScript is only set while this script first runs.
  const script = document.currentScript;
  if (script) start(script);
} catch (_) {
  // never break the host page
}
