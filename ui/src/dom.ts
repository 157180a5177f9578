// A tiny DOM helper shared by the views that build elements by hand.

/** A new element with an optional class and text. */
export const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  text?: string,
): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

/** Wires a modal dialog: a click beside its card, on Cancel or Esc closes it; a click on any
 * other button with a `data-action` closes it and calls `onAction` with that action. */
export function modal(dialog: HTMLElement, onAction: (action: string) => void): void {
  dialog.addEventListener("click", (e) => {
    const action = (e.target as HTMLElement).dataset.action;
    if (e.target === dialog || action) dialog.hidden = true;
    if (action && action !== "cancel") onAction(action);
  });
  dialog.addEventListener("keydown", (e) => {
    if (e.key === "Escape") dialog.hidden = true;
  });
}
