export {
  AMT_DEFAULT_USER,
  AMT_REALM_PATTERN,
  type AmtPasswordProblem,
  amtDigestPassword,
  amtRealm,
  checkAmtPassword,
  generateAmtPassword,
} from './amt.js';
export {
  type DigestDispatchOptions,
  type DigestInterceptorOptions,
  type DigestRequestOptions,
  digestInterceptor,
} from './client.js';
export {
  answerChallenge,
  computeDigestResponse,
  computeHa1,
  DIGEST_ALGORITHMS,
  type DigestAlgorithm,
  type DigestCredentials,
  type DigestQop,
  type DigestRequestTarget,
  type DigestResponseInput,
  digestHash,
  formatNc,
  isDigestAlgorithm,
  randomCnonce,
  selectChallenge,
  selectQop,
} from './digest.js';
export { DigestError, type DigestErrorCode, type DigestErrorDetails } from './errors.js';
export {
  buildAuthorization,
  canonicalAlgorithmName,
  type DigestAuthorization,
  type DigestChallenge,
  type DigestChallengeInit,
  formatChallenge,
  parseAuthenticationInfo,
  parseAuthorization,
  parseWwwAuthenticate,
} from './header.js';
export {
  createDigestVerifier,
  type DigestRefusalReason,
  type DigestUserSecret,
  type DigestVerifier,
  type DigestVerifierOptions,
  type DigestVerifyResult,
} from './verifier.js';
