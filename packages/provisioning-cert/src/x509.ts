// @peculiar/x509 2.x resolves its algorithms through tsyringe, which needs a Reflect metadata
// polyfill loaded before it. Every module here takes x509 classes from this file, so the polyfill
// is imported exactly where it is needed and always first (its only effect: a global `Reflect`
// metadata API).
import 'reflect-metadata';

export {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
} from '@peculiar/x509';
