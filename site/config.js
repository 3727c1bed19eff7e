// Default configuration. The local stack and each deployment serve their own /config.js instead.
// apiBaseUrl "" means: the citizen API is on the same origin as this site. readBaseUrl: where the public reads
// (campaigns, centres, availability, the waiting room's state) go, a CDN in front of the same API; "" or
// missing: apiBaseUrl (locally there is no CDN). privacyController, privacyContact: who the privacy notice names
// ("" shows its placeholder); retentionDays: the API's PERSONAL_DATA_RETENTION_DAYS (`make deploy` writes all three).
window.VAXSLOT_CONFIG = { "apiBaseUrl": "", "readBaseUrl": "", "hotline": "0800 116 117 02", "privacyController": "", "privacyContact": "", "retentionDays": 90 };
