export { startWebsiteApi, type WebsiteApi } from './app.ts';
