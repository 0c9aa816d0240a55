// The API-level fixtures live in @tarmac/testing, shared with the end-to-end and CLI suites.
export {
  addMembers,
  createOrganization,
  createTeam,
  createUser,
  createWorkspace,
  grantAccess,
  memberWithAccess,
  organizationToken,
  startApiTestEnv,
  teamToken,
  unique,
  type ApiTestEnv,
  type TestUser,
} from "@tarmac/testing";
