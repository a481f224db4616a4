// Small DOM helpers: build elements from data (never from HTML strings) and announce changes.

/** An element with attributes (`on…` keys become listeners) and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** Replaces the page's content and moves focus to its heading, for keyboard and screen readers. */
export function show(...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children);
  const heading = main.querySelector("h1");
  if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
}

/** Thrown by a page's `show` once another page has begun: the page that was left stops there. */
export class LeftPage extends Error {}

let generation = 0;

/** Begins a new page (each route does); answers its number. */
export function beginPage() {
  generation += 1;
  return generation;
}

/** Whether page `number` is still the one on screen. */
export function isCurrent(number) {
  return number === generation;
}

/**
 * The view of the page being begun, taken first thing in a page function: its `show` replaces
 * the content only while no later page has begun (a slow page does not cover the next one), and
 * throws [`LeftPage`] otherwise.
 */
export function pageView() {
  const mine = generation;
  return {
    show(...children) {
      if (mine !== generation) throw new LeftPage("the page was left");
      show(...children);
    },
    current: () => mine === generation,
  };
}

/** Says something to assistive technology without moving focus. */
export function announce(text) {
  document.getElementById("status").textContent = text;
}

/** A state word as a coloured badge. */
export function badge(state) {
  return h("span", { class: `badge ${String(state).toLowerCase()}` }, state);
}

/** Offers bytes as a file download. */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
