import type { ColumnType, Generated } from 'kysely';

/*
 * Magento tables read (never written) to authorize integration bearer tokens: `oauth_consumer` and `integration`
 * (Magento_Integration db_schema.xml) and `authorization_role` / `authorization_rule` (Magento_Authorization).
 * Kept here rather than in the store's schema because only the API reads them; the store's `oauth_token` type is
 * reused. Use with `store.db.withTables<MagentoAuthTables>()`.
 */

type Timestamp = ColumnType<Date | string, Date | string | undefined, Date | string>;

export type OauthConsumerTable = {
  entity_id: Generated<number>;
  created_at: Timestamp;
  updated_at: ColumnType<Date | string | null, Date | string | null | undefined, Date | string | null>;
  name: string;
  key: string;
  secret: string;
  callback_url: string | null;
  rejected_callback_url: string;
};

/** `status`: 0 inactive, 1 active, 2 recreated (Magento\Integration\Model\Integration::STATUS_*); only 1 authorizes. */
export type IntegrationTable = {
  integration_id: Generated<number>;
  name: string;
  email: string;
  endpoint: string | null;
  status: number;
  consumer_id: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  setup_type: ColumnType<number, number | undefined, number>;
  identity_link_url: string | null;
};

/** An integration's role: `user_type` '1' (UserContextInterface::USER_TYPE_INTEGRATION), `user_id` = integration_id. */
export type AuthorizationRoleTable = {
  role_id: Generated<number>;
  parent_id: ColumnType<number, number | undefined, number>;
  tree_level: ColumnType<number, number | undefined, number>;
  sort_order: ColumnType<number, number | undefined, number>;
  role_type: ColumnType<string, string | undefined, string>;
  user_id: ColumnType<number, number | undefined, number>;
  user_type: string | null;
  role_name: string | null;
};

/** One ACL resource of a role; `permission` is 'allow' or 'deny'. */
export type AuthorizationRuleTable = {
  rule_id: Generated<number>;
  role_id: ColumnType<number, number | undefined, number>;
  resource_id: string | null;
  privileges: string | null;
  permission: string | null;
};

export type MagentoAuthTables = {
  oauth_consumer: OauthConsumerTable;
  integration: IntegrationTable;
  authorization_role: AuthorizationRoleTable;
  authorization_rule: AuthorizationRuleTable;
};
