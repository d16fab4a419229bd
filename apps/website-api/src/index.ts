export { startWebsiteApi, type WebsiteApi } from './service.ts';
