// home.js: the landing page (/): strings, icons and the language switch.
import { initI18n, onLangChange } from '/shared/i18n.js';
import { renderIcons } from '/shared/icons.js';
import { $$, LOGO_SVG } from '/shared/ui.js';

await initI18n();
renderIcons();
for (const el of $$('[data-logo]')) el.innerHTML = LOGO_SVG;
onLangChange(() => renderIcons());
