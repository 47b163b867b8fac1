/** A button that copies text to the clipboard and says so for a moment. */
import { useState } from 'react';
import { copyText } from '../clipboard';

/** `resolve`: fetches the text to copy when what is shown is not it (a masked secret). */
export function CopyButton({
  text,
  label = 'Copy',
  testId,
  resolve,
}: {
  text: string;
  label?: string;
  testId?: string;
  resolve?: () => Promise<string>;
}) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      data-testid={testId}
      onClick={() =>
        void (resolve ? resolve() : Promise.resolve(text)).then(copyText).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        })
      }
    >
      {copied ? 'Copied ✓' : label}
    </button>
  );
}
