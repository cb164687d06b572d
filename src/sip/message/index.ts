/**
 * SIP messages (RFC 3261 §7, §19, §20, §25): parsing, the mutable message model, responses,
 * serialisation and stream framing. The bottom layer of src/sip: imports only src/core.
 */
export { parseMessage } from './parse-message.ts';
export type { ParseOutcome, SipParseError, SipParseErrorCode } from './parse-error.ts';
export { DEFAULT_SIP_LIMITS, type SipLimits, type SipParseOptions } from './limits.ts';
export { SipMessage, type SipHeader } from './sip-message.ts';
export { createResponse, type CreateResponseOptions } from './create-response.ts';
export { serializeMessage } from './serialize.ts';
export { StreamFramer, type FramerEvent } from './stream-framer.ts';
export { validateMessage, checkRequest, isRespondable, type RequestProblem } from './validate.ts';
export { HEADER_PARSERS, type HeaderKey, type HeaderTypes } from './header-parsers.ts';
export { headerKey, canonicalName, isListHeader, splitList } from './header-names.ts';
export { Via, parseVia, parseViaSentBy, BRANCH_MAGIC_COOKIE } from './via.ts';
export { NameAddr, parseNameAddr, parseNameAddrList, parseContact, parseDeltaSeconds, type ContactList } from './name-addr.ts';
export { SipUri } from './sip-uri.ts';
export { TelUri, AbsoluteUri, parseUri, isSipUri, type Uri } from './uri.ts';
export { uriEquals } from './uri-equals.ts';
export { SipParams } from './sip-params.ts';
export {
  MediaType, parseCSeq, parseCallId, parseContentLength, parseDate, parseDeltaSecondsHeader, parseMaxForwards,
  parseMediaType, parseMediaTypeList, parseTokenList, type CSeq,
} from './header-values.ts';
export { formatHost, isValidHost } from './host.ts';
export { quote, unquote } from './lexer.ts';
export { reasonPhrase } from './reason-phrases.ts';
export { newBranch, newCallId, newTag } from './ids.ts';
export type { Parsed } from './parsed.ts';
