/**
 * One state change at a time for the ceremony and request services: shared with the headless member
 * (`@concord/bridge-server/vault/serial`).
 */
export { SerialQueue } from '@concord/bridge-server/vault/serial';
