export { type CallbackCheck, type CallbackTarget, guardedCallbackCheck } from './destination.ts';
export { CallbackSender, type CallbackSenderOptions, type DeliveryOutcome } from './sender.ts';
export { SIGNATURE_HEADER, sign, signingKey, verify } from './signature.ts';
