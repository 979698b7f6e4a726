// interop-firefox-agent.test.mjs: a Chromium customer and a Firefox ESR agent in a call
// through the media relay, with the pages exactly as shipped (/join and /agent). Their
// RTCPeerConnection uses bundlePolicy 'max-bundle', so Firefox offers its video m-line as
// port 0 + a=bundle-only (RFC 8843), which the relay must take as a live bundled m-line.
//
// In one throwaway namespace (lib/netns.mjs) with the real telecounter: Chromium
// (lib/browser.mjs) joins desk broadband on /join; Firefox (lib/firefox.mjs: puppeteer-core
// over WebDriver BiDi, from a driver process inside the namespace) signs in as an agent with
// that skill only, waits for its own camera, goes available and accepts. Both pages must
// decode the other side's video (inbound-rtp video framesDecoded grows) and hear its audio
// (inbound-rtp audio totalAudioEnergy grows past a small threshold, or audioLevel above one),
// from the page's own getStats() (lib/interop.mjs, callBothWays). Headless Firefox ESR has no H.264: VP8 + Opus.
// The reverse roles: interop-firefox-customer.test.mjs. Artefacts: artifacts/pages/interop-firefox-agent/.
//
//   node --test interop-firefox-agent.test.mjs        (as root; TC_BINARY, TC_ADMIN)

import { firefoxCallTest } from './lib/interop-firefox.mjs';

firefoxCallTest('interop-firefox-agent', 'agent');
