// Default configuration. The local stack and each deployment serve their own /config.js instead.
// apiBaseUrl "" means: the citizen API is on the same origin as this site.
window.VAXSLOT_CONFIG = { "apiBaseUrl": "", "hotline": "0800 116 117 02" };
