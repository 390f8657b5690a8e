package kujira.spel;

import java.util.Collection;

/** PipelineExecution.AuthenticationDetails (orca-api): an allowed SpEL return type upstream. */
public final class AuthenticationDetails {
  private final String user;
  private final Collection<String> allowedAccounts;

  AuthenticationDetails(String user, Collection<String> allowedAccounts) {
    this.user = user;
    this.allowedAccounts = allowedAccounts;
  }

  public String getUser() {
    return user;
  }

  public Collection<String> getAllowedAccounts() {
    return allowedAccounts;
  }
}
