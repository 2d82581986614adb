"""End-to-end browser tests: a real `masspost serve`, Debian's headless Chromium driven by Playwright."""
