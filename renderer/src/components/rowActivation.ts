import type { KeyboardEvent } from 'react';

/**
 * Props for a table row that opens something when clicked: it also takes the keyboard focus (Tab) and opens
 * with Enter or Space, so every list is usable without a mouse. Keys pressed on a control inside the row
 * (a checkbox, a button) keep their own meaning.
 */
export function rowActivation(onActivate: () => void) {
  return {
    tabIndex: 0,
    onClick: onActivate,
    onKeyDown: (e: KeyboardEvent<HTMLElement>) => {
      if (e.target !== e.currentTarget) return;
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        onActivate();
      }
    },
  };
}
