"""The sandbox's GraphQL schema: the part of Shopify's Admin API the write-back uses, in
Shopify's shapes (a misspelt field is a GraphQL error, as Shopify's would be).
"""

from __future__ import annotations

from graphql import build_schema

SDL = """
scalar DateTime
scalar URL

enum FulfillmentOrderStatus { OPEN IN_PROGRESS ON_HOLD CLOSED CANCELLED INCOMPLETE SCHEDULED }
enum FulfillmentHoldReason {
  AWAITING_PAYMENT HIGH_RISK_OF_FRAUD INCORRECT_ADDRESS INVENTORY_OUT_OF_STOCK OTHER
  AWAITING_RETURN_ITEMS UNKNOWN_DELIVERY_DATE
}
enum FulfillmentStatus { SUCCESS CANCELLED ERROR FAILURE }
enum FulfillmentEventStatus {
  ATTEMPTED_DELIVERY CARRIER_PICKED_UP CONFIRMED DELAYED DELIVERED FAILURE IN_TRANSIT
  LABEL_PRINTED LABEL_PURCHASED OUT_FOR_DELIVERY PICKED_UP READY_FOR_PICKUP
}
enum OrderCancelReason { CUSTOMER DECLINED FRAUD INVENTORY OTHER STAFF }

type UserError { field: [String!] message: String! }
type FulfillmentOrderHoldUserError { field: [String!] message: String! code: String }
type OrderCancelUserError { field: [String!] message: String! code: String }

type LineItem { id: ID! sku: String quantity: Int! currentQuantity: Int! title: String }
type LineItemConnection { nodes: [LineItem!]! }
type FulfillmentOrderLineItem {
  id: ID! sku: String totalQuantity: Int! remainingQuantity: Int! lineItem: LineItem!
}
type FulfillmentOrderLineItemConnection { nodes: [FulfillmentOrderLineItem!]! }
type FulfillmentHold {
  id: ID! handle: String reason: FulfillmentHoldReason! reasonNotes: String
}
type FulfillmentOrder {
  id: ID!
  status: FulfillmentOrderStatus!
  fulfillmentHolds: [FulfillmentHold!]!
  lineItems(first: Int): FulfillmentOrderLineItemConnection!
}
type FulfillmentOrderConnection { nodes: [FulfillmentOrder!]! }
type FulfillmentTrackingInfo { company: String number: String url: URL }
type FulfillmentLineItem { id: ID! quantity: Int lineItem: LineItem! }
type FulfillmentLineItemConnection { nodes: [FulfillmentLineItem!]! }
type FulfillmentEvent {
  id: ID! status: FulfillmentEventStatus! happenedAt: DateTime! message: String
}
type FulfillmentEventConnection { nodes: [FulfillmentEvent!]! }
type Fulfillment {
  id: ID!
  status: FulfillmentStatus!
  createdAt: DateTime!
  trackingInfo(first: Int): [FulfillmentTrackingInfo!]!
  fulfillmentLineItems(first: Int): FulfillmentLineItemConnection!
  events(first: Int): FulfillmentEventConnection!
}
type Order {
  id: ID!
  name: String!
  cancelledAt: DateTime
  cancelReason: OrderCancelReason
  lineItems(first: Int): LineItemConnection!
  fulfillmentOrders(first: Int): FulfillmentOrderConnection!
  fulfillments(first: Int): [Fulfillment!]!
}
type Job { id: ID! done: Boolean! }

input FulfillmentOrderLineItemInput { id: ID! quantity: Int! }
input FulfillmentOrderLineItemsInput {
  fulfillmentOrderId: ID!
  fulfillmentOrderLineItems: [FulfillmentOrderLineItemInput!]
}
input FulfillmentTrackingInput { company: String number: String url: URL }
input FulfillmentInput {
  lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]!
  trackingInfo: FulfillmentTrackingInput
  notifyCustomer: Boolean
}
input FulfillmentEventInput {
  fulfillmentId: ID! status: FulfillmentEventStatus! happenedAt: DateTime message: String
}
input FulfillmentOrderHoldInput {
  reason: FulfillmentHoldReason! reasonNotes: String handle: String notifyMerchant: Boolean
}

type FulfillmentCreatePayload { fulfillment: Fulfillment userErrors: [UserError!]! }
type FulfillmentEventCreatePayload {
  fulfillmentEvent: FulfillmentEvent userErrors: [UserError!]!
}
type FulfillmentOrderHoldPayload {
  fulfillmentHold: FulfillmentHold
  fulfillmentOrder: FulfillmentOrder
  userErrors: [FulfillmentOrderHoldUserError!]!
}
type FulfillmentOrderReleaseHoldPayload {
  fulfillmentOrder: FulfillmentOrder userErrors: [FulfillmentOrderHoldUserError!]!
}
type OrderCancelPayload { job: Job orderCancelUserErrors: [OrderCancelUserError!]! }

type Query {
  order(id: ID!): Order
  fulfillment(id: ID!): Fulfillment
}
type Mutation {
  fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
  fulfillmentEventCreate(fulfillmentEvent: FulfillmentEventInput!): FulfillmentEventCreatePayload
  fulfillmentOrderHold(
    id: ID!, fulfillmentHold: FulfillmentOrderHoldInput!
  ): FulfillmentOrderHoldPayload
  fulfillmentOrderReleaseHold(id: ID!, holdIds: [ID!]): FulfillmentOrderReleaseHoldPayload
  orderCancel(
    orderId: ID!, reason: OrderCancelReason!, refund: Boolean!, restock: Boolean!,
    notifyCustomer: Boolean, staffNote: String
  ): OrderCancelPayload
}
"""

SCHEMA = build_schema(SDL)
