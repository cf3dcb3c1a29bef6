// Modal dialogs instead of prompt() and confirm(): styled like the app,
// keyboard-friendly (focus moves in, Esc cancels, focus returns), labelled.
import { el } from "../html.ts";

let seq = 0;

interface Shell {
  dialog: HTMLDialogElement;
  form: HTMLFormElement;
  actions: HTMLElement;
}

function shell(title: string, message: string | undefined, id: string | undefined): Shell {
  const n = ++seq;
  const dialog = el("dialog", { class: "w-dialog", "aria-labelledby": `w-dialog-title-${n}`, id });
  const form = el("form", { method: "dialog" });
  form.append(el("h2", { id: `w-dialog-title-${n}`, class: "w-dialog-title", text: title }));
  if (message) {
    form.append(el("p", { id: `w-dialog-desc-${n}`, class: "w-dialog-message", text: message }));
    dialog.setAttribute("aria-describedby", `w-dialog-desc-${n}`);
  }
  const actions = el("div", { class: "w-dialog-actions" });
  dialog.append(form);
  return { dialog, form, actions };
}

function open<T>(s: Shell, result: () => T, cancelled: T): Promise<T> {
  const previous = document.activeElement as HTMLElement | null;
  document.body.append(s.dialog);
  return new Promise<T>((resolve) => {
    s.dialog.addEventListener("close", () => {
      const v = s.dialog.returnValue === "ok" ? result() : cancelled;
      s.dialog.remove();
      previous?.focus?.();
      resolve(v);
    }, { once: true });
    s.dialog.showModal();
  });
}

function buttons(s: Shell, ok: string, cancel: string, danger: boolean): HTMLButtonElement {
  // Cancel is a plain button, so Enter in a field submits with the confirming one.
  const cancelBtn = el("button", { type: "button", class: "w-btn w-btn-ghost", text: cancel, onclick: () => s.dialog.close("cancel") });
  const okBtn = el("button", { type: "submit", value: "ok", class: `w-btn ${danger ? "w-btn-danger" : "w-btn-primary"}`, text: ok });
  s.actions.append(cancelBtn, okBtn);
  s.form.append(s.actions);
  return okBtn;
}

/** Options of {@link confirmDialog}. */
export interface ConfirmOptions {
  title: string;
  message?: string;
  /** Label of the confirming button. Default "OK". */
  confirm?: string;
  /** Label of the cancelling button. Default "Cancel". */
  cancel?: string;
  /** Style the confirming button as destructive. */
  danger?: boolean;
  /** id of the <dialog>, for tests. */
  id?: string;
}

/** confirmDialog asks a yes/no question and resolves true when confirmed. */
export function confirmDialog(o: ConfirmOptions): Promise<boolean> {
  const s = shell(o.title, o.message, o.id);
  const ok = buttons(s, o.confirm ?? "OK", o.cancel ?? "Cancel", o.danger ?? false);
  const p = open(s, () => true, false);
  ok.focus();
  return p;
}

/** Options of {@link promptDialog}. */
export interface PromptOptions {
  title: string;
  message?: string;
  /** Label of the text field (shown above it). */
  label: string;
  value?: string;
  placeholder?: string;
  maxLength?: number;
  /** A value is required (the confirming button does nothing on an empty one). Default true. */
  required?: boolean;
  confirm?: string;
  cancel?: string;
  id?: string;
  /** autocomplete attribute of the field, e.g. "nickname". Default "off". */
  autocomplete?: string;
}

/** promptDialog asks for one line of text; it resolves the trimmed text, or null when cancelled. */
export function promptDialog(o: PromptOptions): Promise<string | null> {
  const s = shell(o.title, o.message, o.id);
  const n = seq;
  const input = el("input", {
    id: `w-dialog-input-${n}`,
    class: "w-input",
    type: "text",
    name: "value",
    autocomplete: o.autocomplete ?? "off",
    placeholder: o.placeholder,
    maxlength: o.maxLength,
    required: o.required ?? true,
    pattern: o.required ?? true ? ".*\\S.*" : undefined, // not only spaces
    title: o.required ?? true ? "Type at least one character" : undefined,
    spellcheck: "false",
  });
  input.value = o.value ?? "";
  s.form.append(el("label", { class: "w-field", for: input.id }, el("span", { class: "w-label", text: o.label }), input));
  buttons(s, o.confirm ?? "OK", o.cancel ?? "Cancel", false);
  const p = open(s, () => input.value.trim(), null);
  input.focus();
  input.select();
  return p;
}
